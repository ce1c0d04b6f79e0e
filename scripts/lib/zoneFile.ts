/**
 * records.json entries -> a BIND zone file. Cloudflare owns SOA and NS, so a synthetic SOA/NS (with a
 * TEST-NET glue address) is added only so that named-checkzone and a real server can load the zone.
 */
import { txtPresentation } from "../../components/render/dns";

export interface DnsRecordOut {
    readonly zone: string;
    /** FQDN, no trailing dot. */
    readonly name: string;
    readonly type: string;
    readonly content: string | null;
    /** 1 = Cloudflare "auto" (300 s). */
    readonly ttl: number;
    readonly proxied: boolean;
    readonly priority: number | null;
    readonly data: Record<string, unknown> | null;
    /** Present (true) when the value comes from a test-only fixture of the offline render (the DKIM key). */
    readonly fixture?: true;
}

/** The zone-file comment above a record whose value is a test-only fixture. */
export const FIXTURE_COMMENT = "; FIXTURE: test-only value from tests/fixtures/ (offline render), not what pulumi up publishes";

/** Cloudflare's "automatic" TTL, written out for real servers. */
const AUTO_TTL = 300;

const abs = (name: string) => `${name.replace(/\.$/, "")}.`;

/**
 * A TXT value as zone-file strings: at most 255 bytes each, quotes and backslashes escaped. The same
 * function makes the TXT content sent to Cloudflare, so both hold the same strings.
 */
export const txtStrings = txtPresentation;

function rdata(r: DnsRecordOut): string {
    const d = r.data ?? {};
    switch (r.type) {
        case "A":
        case "AAAA":
            return String(r.content);
        case "CNAME":
        case "NS":
        case "PTR":
            return abs(String(r.content));
        case "MX":
            return `${r.priority ?? 10} ${abs(String(r.content))}`;
        case "TXT":
            return txtStrings(String(r.content));
        case "SRV":
            return `${d.priority} ${d.weight} ${d.port} ${d.target === "." ? "." : abs(String(d.target))}`;
        case "CAA":
            return `${d.flags ?? 0} ${d.tag} "${String(d.value).replace(/"/g, '\\"')}"`;
        default:
            throw new Error(`zone file: record type ${r.type} (${r.name}) is not supported`);
    }
}

export function renderZoneFile(zone: string, records: readonly DnsRecordOut[]): string {
    const lines = [
        `; ${zone}: rendered by homemail from records.json. SOA and NS are synthetic (Cloudflare owns them).`,
        `$ORIGIN ${abs(zone)}`,
        `$TTL ${AUTO_TTL}`,
        `${abs(zone)} 3600 IN SOA ns1.${abs(zone)} hostmaster.${abs(zone)} 1 7200 3600 1209600 300`,
        `${abs(zone)} 3600 IN NS ns1.${abs(zone)}`,
        `ns1.${abs(zone)} 3600 IN A 192.0.2.53`,
    ];
    for (const r of records) {
        if (r.fixture) lines.push(FIXTURE_COMMENT);
        lines.push(`${abs(r.name)} ${r.ttl === 1 ? AUTO_TTL : r.ttl} IN ${r.type} ${rdata(r)}`);
    }
    return `${lines.join("\n")}\n`;
}
