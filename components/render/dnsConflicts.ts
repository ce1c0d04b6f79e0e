/**
 * The day-one conflict check: records already in the zones where homemail publishes its own. Two
 * SPF or DMARC records make both invalid, an old MX splits delivery, a CNAME makes Cloudflare refuse
 * homemail's record half-way through `pulumi up`. Checked before anything is registered, against the
 * zones' record lists (components/dnsConflicts.ts reads them); every conflict is reported at once.
 *
 * Checked (the README lists the same set): A/AAAA/CNAME at the mail host, `autoconfig.`,
 * `autodiscover.`, `mta-sts.`, `openpgpkey.` of each mail domain and each `extraHostnames`; MX, SPF,
 * `_dmarc`, `_mta-sts`, `_smtp._tls` and CAA per domain (SPF also at the mail host, the HELO name);
 * TXT at `<selector>._domainkey`; and a CNAME at any of those names. Records whose comment starts with
 * this stack's prefix ({@link recordCommentPrefix}) are homemail's own and never conflict.
 *
 * Pure: no Pulumi, no I/O.
 */
import type { Model } from "../config/model";
import { CAA_ISSUER, DnsRecordSpec, recordCommentPrefix, renderDnsRecords } from "./dns";

/** A record as the zone's record list shows it. */
export interface ExistingRecord {
    readonly zone: string;
    /** FQDN, no trailing dot. */
    readonly name: string;
    readonly type: string;
    readonly content: string;
    /** The record's comment in Cloudflare ("" when none). */
    readonly comment: string;
}

/** What homemail publishes at a name, and which existing records would collide with it. */
interface Claim {
    readonly what: string;
    readonly collides: (r: ExistingRecord) => boolean;
    readonly fix: string;
}

const isType = (...types: string[]) => (r: ExistingRecord) => types.includes(r.type.toUpperCase());
/** TXT content as the API returns it: quoted strings or bare; compared without quotes. */
const txtText = (r: ExistingRecord) => r.content.replace(/^"|"$/g, "").replace(/" "/g, "");
const isSpf = (r: ExistingRecord) => isType("TXT")(r) && /^v=spf1(\s|$)/i.test(txtText(r));

const DELETE = "delete it in the Cloudflare dashboard (DNS > Records) before `pulumi up`";

/** The claim a homemail record makes on its name; undefined for records not checked (SRV, report authorisations). */
function claimOf(model: Model, r: DnsRecordSpec): Claim | undefined {
    switch (r.role) {
        case "mail-host":
        case "web-host":
            return {
                what: `A ${r.name} -> ${model.addresses.vpsPublicIp} (the VPS)`,
                collides: isType("A", "AAAA", "CNAME"),
                fix: `${DELETE}, or serve that site under another name: homemail sends ${r.name} to the VPS (an AAAA would send IPv6 clients elsewhere)`,
            };
        case "mx":
            return { what: `MX ${r.name} -> ${model.mailHost}`, collides: isType("MX"), fix: `${DELETE}: two MX split ${r.name}'s mail between two servers` };
        case "spf":
            return { what: `SPF of ${r.name}`, collides: isSpf, fix: `${DELETE}: two SPF records make SPF fail for every message (RFC 7208 3.2); homemail's allows only the VPS` };
        case "dmarc":
            return { what: `DMARC ${r.name}`, collides: isType("TXT"), fix: `${DELETE}: receivers ignore DMARC when there are two (RFC 7489 6.6.3); set homemail:dmarc.* instead` };
        case "mta-sts":
            return { what: `MTA-STS id ${r.name}`, collides: isType("TXT"), fix: `${DELETE}: homemail publishes the id of its own MTA-STS policy` };
        case "tls-rpt":
            return { what: `TLS-RPT ${r.name}`, collides: isType("TXT"), fix: `${DELETE}; set homemail:tlsRptAddress instead` };
        case "caa":
            return { what: `CAA of ${r.name}`, collides: isType("CAA"), fix: `${DELETE}: CAA records add up, so it would let another CA issue for the mail names (homemail allows only ${CAA_ISSUER})` };
        case "dkim":
            return { what: `DKIM key ${r.name}`, collides: isType("TXT"), fix: `${DELETE}, or choose another homemail:dkimSelector` };
        default:
            return undefined;
    }
}

/**
 * One line per existing record that collides with a record homemail publishes, naming the record and
 * the fix; sorted, each record once. Empty when the zones are ready.
 */
export function dnsConflicts(model: Model, existing: readonly ExistingRecord[]): string[] {
    const own = recordCommentPrefix(model);
    const claims = new Map<string, Claim[]>();
    for (const r of renderDnsRecords(model)) {
        const claim = claimOf(model, r);
        if (claim) claims.set(r.name, [...(claims.get(r.name) ?? []), claim]);
    }
    const lines = new Set<string>();
    for (const e of existing) {
        if (e.comment.startsWith(own)) continue;
        const name = e.name.toLowerCase().replace(/\.$/, "");
        const atName = claims.get(name) ?? [];
        // A CNAME owns its name alone (RFC 1034 3.6.2): Cloudflare refuses any record of ours beside it.
        const hit = atName.find((c) => c.collides(e)) ?? (isType("CNAME")(e) && atName.length > 0 ? { what: atName[0].what, fix: `${DELETE}: a CNAME cannot share its name with other records (RFC 1034 3.6.2)` } : undefined);
        if (!hit) continue;
        lines.add(`${e.zone}: ${e.type.toUpperCase()} ${name} ${JSON.stringify(e.content)} conflicts with homemail's ${hit.what}. Fix: ${hit.fix}.`);
    }
    return [...lines].sort();
}

/** The whole report: a head line and one line per conflict (the RunError's message). */
export function dnsConflictReport(conflicts: readonly string[]): string {
    return [
        `homemail: the Cloudflare zones hold ${conflicts.length} record${conflicts.length === 1 ? "" : "s"} that conflict with homemail's own; nothing was changed:`,
        ...conflicts.map((c) => `  - ${c}`),
    ].join("\n");
}
