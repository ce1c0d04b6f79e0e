/**
 * The MTA-STS policy file (RFC 8461, section 3.2), served at
 * `https://mta-sts.<domain>/.well-known/mta-sts.txt` for every mail domain.
 *
 * Lines end in CRLF: section 3.2 describes the policy as "CRLF-separated key/value pairs", and its
 * ABNF (`sts-policy-term = LF / CRLF`) accepts CRLF too, so CRLF satisfies both readings (RFC errata
 * 6253 notes the prose/ABNF mismatch). The format has no comment syntax, hence no "managed by" header.
 *
 * Pure: no I/O, no clock.
 */
import type { Model } from "../config/model";

/** RFC 8461 section 3.2: max_age is at most 31557600 seconds (about one year). */
export const MTA_STS_MAX_AGE_LIMIT = 31557600;

/** `version: STSv1`, `mode`, one `mx` per MX host (the model's mail host), `max_age`. */
export function renderMtaStsPolicy(model: Pick<Model, "mtaSts" | "mailHost">): string {
    const { mode, maxAgeSeconds } = model.mtaSts;
    if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 0 || maxAgeSeconds > MTA_STS_MAX_AGE_LIMIT) {
        throw new Error(`renderMtaStsPolicy: max_age ${maxAgeSeconds} is outside 0..${MTA_STS_MAX_AGE_LIMIT}`);
    }
    const mxHosts = [model.mailHost];
    const lines = ["version: STSv1", `mode: ${mode}`, ...mxHosts.map((mx) => `mx: ${mx}`), `max_age: ${maxAgeSeconds}`];
    return lines.map((line) => `${line}\r\n`).join("");
}
