/**
 * Domains and zones: the Cloudflare zones and account, the mail domains (primary, extra,
 * alternative), the mail host, Mailu's extra hostnames and the web hosts homemail publishes.
 */
import { KEYS } from "../keys";
import type { MailDomain, WebHost, Zone } from "../model";
import { isHostname } from "../names";
import { Ctx, key, requireSet } from "./context";

const CF_ID = /^[0-9a-f]{32}$/;

/** The zone a name lives in: the longest zone that is the name or a parent of it. The one implementation. */
export function zoneOfName(zones: readonly Zone[], name: string): string | undefined {
    return zones
        .map((z) => z.name)
        .filter((z) => name === z || name.endsWith(`.${z}`))
        .sort((a, b) => b.length - a.length)[0];
}

/** A YAML number loses leading zeros: say so when an id is all digits. */
function idHint(value: string): string {
    return /^[0-9]+$/.test(value) ? " (an unquoted id of digits is read as a number and loses its leading zeros: quote it)" : "";
}

/** `cloudflareZones` and `cloudflareAccountId`: names valid and distinct, ids 32 lowercase hex. */
export function validateZones(ctx: Ctx): Zone[] {
    const { raw, problems } = ctx;
    if (raw.cloudflareAccountId !== undefined && !CF_ID.test(raw.cloudflareAccountId)) {
        problems.add(key("cloudflareAccountId"), `"${raw.cloudflareAccountId}" is not a Cloudflare account id (32 lowercase hex)${idHint(raw.cloudflareAccountId)}`, KEYS.cloudflareAccountId.example);
    }
    requireSet(ctx, "cloudflareAccountId");
    requireSet(ctx, "cloudflareZones");
    if (!raw.cloudflareZones) return [];
    if (Object.keys(raw.cloudflareZones).length === 0) problems.add(key("cloudflareZones"), "lists no zone", KEYS.cloudflareZones.example);
    const zones: Zone[] = [];
    const seen = new Map<string, string>();
    for (const [name, id] of Object.entries(raw.cloudflareZones)) {
        const where = key("cloudflareZones", `["${name}"]`);
        const zoneName = name.toLowerCase();
        if (!isHostname(zoneName)) problems.add(where, `"${name}" is not a valid zone name`, KEYS.cloudflareZones.example);
        else if (seen.has(zoneName)) problems.add(where, `names the same zone as "${seen.get(zoneName)}" (DNS names ignore case)`, "list each zone once");
        else if (!CF_ID.test(id)) problems.add(where, `"${id}" is not a Cloudflare zone id (32 lowercase hex)${idHint(id)}`, "copy the Zone ID from the zone's Overview page in Cloudflare");
        else zones.push({ name: zoneName, id });
        seen.set(zoneName, name);
    }
    return zones.sort((a, b) => a.name.localeCompare(b.name));
}

/** Checks a hostname is valid and under a zone; returns it lowercased, or undefined after a problem. */
export function hostUnderZone(ctx: Ctx, zones: readonly Zone[], where: string, value: string, fix: string): string | undefined {
    const host = value.toLowerCase();
    if (!isHostname(host)) {
        ctx.problems.add(where, `"${value}" is not a valid hostname`, fix);
        return undefined;
    }
    const zoneList = zones.map((z) => z.name).join(", ");
    if (zones.length && !zoneOfName(zones, host)) {
        ctx.problems.add(where, `"${host}" is not inside any zone of homemail:cloudflareZones (${zoneList})`, `add its zone to homemail:cloudflareZones, or use a name under ${zoneList}`);
        return undefined;
    }
    return host;
}

function mailDomain(zones: readonly Zone[], name: string, kind: MailDomain["kind"], alternativeOf?: string): MailDomain {
    return {
        name,
        kind,
        alternativeOf,
        zone: zoneOfName(zones, name) ?? name,
        autoconfigHost: `autoconfig.${name}`,
        autodiscoverHost: `autodiscover.${name}`,
        mtaStsHost: `mta-sts.${name}`,
        openpgpkeyHost: `openpgpkey.${name}`,
    };
}

/** Primary, extra and alternative domains: each valid, in a zone, listed once. Primary first, then extra, then alternative, each by name. */
export function validateDomains(ctx: Ctx, zones: readonly Zone[]): MailDomain[] {
    const { raw, problems } = ctx;
    const domains: MailDomain[] = [];
    const add = (where: string, value: string, kind: MailDomain["kind"], alternativeOf?: string): void => {
        const name = hostUnderZone(ctx, zones, where, value, KEYS.extraDomains.example);
        if (!name) return;
        if (domains.some((d) => d.name === name)) problems.add(where, `domain "${name}" is listed more than once`, "list each mail domain once");
        else domains.push(mailDomain(zones, name, kind, alternativeOf));
    };
    requireSet(ctx, "primaryDomain");
    if (raw.primaryDomain !== undefined) add(key("primaryDomain"), raw.primaryDomain, "primary");
    (raw.extraDomains ?? []).forEach((d, i) => add(key("extraDomains", `[${i}]`), d, "extra"));
    const mainDomains = new Set(domains.map((d) => d.name));
    for (const [parent, alternatives] of Object.entries(raw.alternativeDomains ?? {})) {
        const parentName = parent.toLowerCase();
        if (!mainDomains.has(parentName)) {
            problems.add(key("alternativeDomains", `["${parent}"]`), `"${parent}" is not homemail:primaryDomain or one of homemail:extraDomains`, "key each list of alternative domains by a configured mail domain");
            continue;
        }
        alternatives.forEach((alt, i) => add(key("alternativeDomains", `["${parent}"][${i}]`), alt, "alternative", parentName));
    }
    const kindOrder = { primary: 0, extra: 1, alternative: 2 } as const;
    return domains.sort((a, b) => kindOrder[a.kind] - kindOrder[b.kind] || a.name.localeCompare(b.name));
}

export interface Hostnames {
    readonly mailHost?: string;
    readonly extraHostnames: readonly string[];
    readonly proxiedHosts: readonly string[];
    /** Every web host published through the VPS, except the mail host; sorted. */
    readonly webHosts: readonly WebHost[];
    /** The mail host first, then every pure web host (TLS passthrough to Mailu on 443), sorted. */
    readonly passthroughHosts: readonly string[];
}

/** The mail host, Mailu's extra hostnames, and which published web hosts Cloudflare may proxy. */
export function validateHostnames(ctx: Ctx, zones: readonly Zone[], domains: readonly MailDomain[]): Hostnames {
    const { raw, problems } = ctx;
    const primary = domains.find((d) => d.kind === "primary")?.name;
    const mailHost = primary ? hostUnderZone(ctx, zones, key("mailHost"), raw.mailHost ?? `mail.${primary}`, KEYS.mailHost.example) : undefined;
    // MTA-STS and WKD hosts are served by the VPS's own nginx; as a Mailu hostname they would route to Mailu instead.
    const gatewayOwned = new Set(domains.flatMap((d) => [d.mtaStsHost, d.openpgpkeyHost]));
    const extra = (raw.extraHostnames ?? []).flatMap((h, i) => {
        const host = hostUnderZone(ctx, zones, key("extraHostnames", `[${i}]`), h, KEYS.extraHostnames.example);
        if (host && gatewayOwned.has(host)) {
            problems.add(key("extraHostnames", `[${i}]`), `"${host}" is served by the VPS itself (MTA-STS policy or Web Key Directory), not by Mailu`, "remove it: homemail publishes it already");
            return [];
        }
        return host ? [host] : [];
    });
    const extraHostnames = [...new Set(extra)].sort();
    const pureWeb = new Set([...extraHostnames, ...domains.flatMap((d) => [d.autoconfigHost, d.autodiscoverHost])]);
    if (mailHost) pureWeb.delete(mailHost);
    const proxied = (raw.cloudflareProxiedHosts ?? []).flatMap((h, i) => {
        const where = key("cloudflareProxiedHosts", `[${i}]`);
        const host = hostUnderZone(ctx, zones, where, h, KEYS.cloudflareProxiedHosts.example);
        if (!host) return [];
        if (host === mailHost || gatewayOwned.has(host) || domains.some((d) => d.name === host)) {
            problems.add(where, `"${host}" carries mail, MTA-STS or WKD traffic and must stay DNS-only (grey cloud)`, "proxy only pure web hosts, or remove the entry");
            return [];
        }
        if (!pureWeb.has(host)) {
            problems.add(where, `"${host}" is not a web host homemail publishes (autoconfig.*, autodiscover.* or one of homemail:extraHostnames)`, "list only published web hosts, or add it to homemail:extraHostnames first");
            return [];
        }
        return [host];
    });
    const proxiedHosts = [...new Set(proxied)].sort();
    const webHosts = [...new Set([...pureWeb, ...gatewayOwned])]
        .filter((h) => h !== mailHost)
        .sort()
        .map((name) => ({ name, proxied: pureWeb.has(name) && proxiedHosts.includes(name) }));
    const passthroughHosts = mailHost ? [mailHost, ...[...pureWeb].sort()] : [];
    return { mailHost, extraHostnames, proxiedHosts, webHosts, passthroughHosts };
}
