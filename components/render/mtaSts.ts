/**
 * MTA-STS (RFC 8461): the policy file every mail domain serves at
 * `https://mta-sts.<domain>/.well-known/mta-sts.txt`, and the id its `_mta-sts` TXT record carries.
 *
 * One text for every domain: they all share the one MX host, so one policy fits all, and the DNS id
 * derived from it changes for all domains at once when the policy changes.
 *
 * Pure: no I/O, no clock.
 */
import { createHash } from "node:crypto";
import type { Model } from "../config/model";

/** RFC 8461 section 3.2: max_age is at most 31557600 seconds (about one year). */
export const MTA_STS_MAX_AGE_LIMIT = 31557600;

/**
 * The policy file. Lines end in CRLF: section 3.2 calls the resource "CRLF-separated key/value
 * pairs", and its ABNF (`sts-policy-term = LF / CRLF`) accepts CRLF as well, so CRLF satisfies
 * both. The format has no comment syntax, so there is no "managed by homemail" header: an extra
 * line would be a malformed field to a strict parser.
 *
 * `mx:` lists the model's mail host (the only MX target of every domain); it is written for mode
 * `none` too (allowed, and switching the mode back then changes a single line).
 */
export function renderMtaStsPolicy(model: Pick<Model, "mtaSts" | "mailHost">): string {
    const { mode, maxAgeSeconds } = model.mtaSts;
    if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 0 || maxAgeSeconds > MTA_STS_MAX_AGE_LIMIT) {
        throw new Error(`renderMtaStsPolicy: max_age ${maxAgeSeconds} is outside 0..${MTA_STS_MAX_AGE_LIMIT}`);
    }
    const lines = ["version: STSv1", `mode: ${mode}`, `mx: ${model.mailHost}`, `max_age: ${maxAgeSeconds}`];
    return lines.map((line) => `${line}\r\n`).join("");
}

/**
 * The `id` of the `_mta-sts` TXT record for a policy text: the first 20 hex digits of its SHA-256.
 *
 * Senders refetch the policy only when the id changes (RFC 8461 section 3.1), so the id must change
 * exactly when the text does: a hash does that with no state and no clock (a date-based id would
 * change on every deploy, or not at all when the policy changes twice a day). 20 hex digits (80
 * bits) stay inside the 1-32 alphanumeric characters the RFC allows, with no realistic collision.
 */
export function mtaStsPolicyId(policy: string): string {
    return createHash("sha256").update(policy, "utf8").digest("hex").slice(0, 20);
}

/** The `_mta-sts.<domain>` TXT value for the model's policy. */
export function mtaStsTxt(model: Pick<Model, "mtaSts" | "mailHost">): string {
    return `v=STSv1; id=${mtaStsPolicyId(renderMtaStsPolicy(model))}`;
}
