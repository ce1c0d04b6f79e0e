/**
 * The render's DNS records split among the checks that own them: every record of the set belongs to
 * exactly one check, so a wrong record fails once, in the check that explains it.
 */
import type { Model } from "../../../../components/config";
import type { DnsRecordOut } from "../../zoneFile";
import type { QueryType } from "../dns";

/** The id of the check that verifies this record. */
export function ownerOf(r: DnsRecordOut, model: Pick<Model, "mailHost">): string {
    const name = r.name.toLowerCase();
    const content = String(r.content ?? "");
    if (r.type === "A" && name === model.mailHost) return "identity.a";
    if (r.type === "MX") return `dns.mx:${name}`;
    if (r.type === "TXT") {
        if (/^v=spf1(\s|$)/i.test(content)) return `dns.spf:${name}`;
        if (name.startsWith("_dmarc.")) return `dns.dmarc:${name.slice("_dmarc.".length)}`;
        if (name.includes("._domainkey.")) return `dns.dkim:${name.slice(name.indexOf("._domainkey.") + "._domainkey.".length)}`;
        if (name.startsWith("_mta-sts.")) return `dns.mta-sts-id:${name.slice("_mta-sts.".length)}`;
        if (name.startsWith("_smtp._tls.")) return `dns.tls-rpt:${name.slice("_smtp._tls.".length)}`;
    }
    if (r.type === "CAA") return `dns.caa:${name}`;
    if (r.type === "SRV") return `dns.srv:${name.replace(/^_[^.]+\._(tcp|udp)\./, "")}`;
    return `dns.records:${r.zone}`;
}

/** A record's expected answer in the presentation form dns.ts gives served answers. */
export function expectedText(r: DnsRecordOut): string {
    const d = (r.data ?? {}) as Record<string, unknown>;
    const noDot = (n: unknown) => String(n).replace(/\.$/, "").toLowerCase();
    switch (r.type) {
        case "MX":
            return `${r.priority ?? 10} ${noDot(r.content)}`;
        case "SRV":
            return `${d.priority} ${d.weight} ${d.port} ${d.target === "." ? "." : noDot(d.target)}`;
        case "CAA":
            return `${d.flags ?? 0} ${d.tag} "${d.value}"`;
        case "CNAME":
        case "NS":
        case "PTR":
            return noDot(r.content);
        default:
            return String(r.content);
    }
}

/** The TXT records a purpose owns at a shared name (the apex holds SPF and maybe a user's others). */
export function txtPurpose(text: string): string {
    const tag = /^v=([A-Za-z0-9]+)/.exec(text)?.[1]?.toUpperCase();
    return tag ?? "other";
}

/** One RRset the render publishes: name, type and the texts it must hold. */
export interface ExpectedSet {
    readonly name: string;
    readonly type: QueryType;
    readonly texts: readonly string[];
    /** Proxied by Cloudflare: served with Cloudflare's addresses, so only presence is checked. */
    readonly proxied: boolean;
}

/** Groups records by (name, type), sorted. */
export function expectedSets(records: readonly DnsRecordOut[]): ExpectedSet[] {
    const sets = new Map<string, { name: string; type: QueryType; texts: string[]; proxied: boolean }>();
    for (const r of records) {
        const key = `${r.name.toLowerCase()} ${r.type}`;
        const s = sets.get(key) ?? { name: r.name.toLowerCase(), type: r.type as QueryType, texts: [], proxied: false };
        s.texts.push(expectedText(r));
        s.proxied ||= r.proxied;
        sets.set(key, s);
    }
    return [...sets.values()].map((s) => ({ ...s, texts: s.texts.sort() })).sort((a, b) => `${a.name} ${a.type}`.localeCompare(`${b.name} ${b.type}`));
}

/** The stack zone holding `name` (longest suffix), or undefined outside them. */
export function stackZoneOf(name: string, model: Pick<Model, "cloudflare">): string | undefined {
    const n = name.toLowerCase().replace(/\.$/, "");
    return model.cloudflare.zones.map((z) => z.name).sort((a, b) => b.length - a.length).find((z) => n === z || n.endsWith(`.${z}`));
}

/** The id of the check that the zone's authoritative servers answer. */
export const serversCheckId = (zone: string) => `dns.servers:${zone}`;

/** `needs` for a check asking about `name`: its zone's servers check, when it is a stack zone. */
export function needsServersOf(name: string, model: Pick<Model, "cloudflare">): string[] {
    const zone = stackZoneOf(name, model);
    return zone ? [serversCheckId(zone)] : [];
}
