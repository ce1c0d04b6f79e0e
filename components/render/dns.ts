/**
 * Every DNS record the mail system needs, derived from the model (domains, mail host, address plan,
 * port table): nothing here is typed twice. The DnsZone component turns these specs into Cloudflare
 * records; the offline render turns the same records into a BIND zone file.
 *
 * Values that only exist at deploy time (the DKIM public key, the DNSSEC DS) are not seen here: the
 * DKIM record carries a reference (`{ type: "DKIM", domain, keyOf }`) and {@link dkimTxtValue} turns
 * the key into text inside the component's apply.
 *
 * Pure: no Pulumi, no I/O, no clock; records sorted by zone, name, key.
 */
import * as ipaddr from "ipaddr.js";
import type { MailDomain, Model } from "../config/model";
import { mtaStsTxt } from "./mtaSts";

/** Cloudflare's "automatic" TTL (300 s). Mail records change rarely; auto keeps Cloudflare's default. */
export const AUTO_TTL = 1;

/**
 * MX preference of the one mail host. With a single MX the number is arbitrary (RFC 5321 5.1); 10 is
 * what the blog post and Mailu's zone file use, leaving room for a backup MX on either side.
 */
export const MX_PREFERENCE = 10;

/**
 * SRV priority and weight of an offered service (RFC 6186's examples: `0 1 <port> <host>`). There is
 * one target per service, so neither number selects anything.
 */
export const SRV_PRIORITY = 0;
export const SRV_WEIGHT = 1;

/** The only CA allowed to issue for our names: Traefik and Mailu both use Let's Encrypt. */
export const CAA_ISSUER = "letsencrypt.org";

/** Permission groups the ACME dns-01 token needs (Zone:Zone:Read and Zone:DNS:Edit in the dashboard). */
export const ACME_PERMISSION_GROUPS = ["Zone Read", "DNS Write"] as const;
/** The scope of zone-level permission groups in Cloudflare's permission-group list. */
export const ZONE_PERMISSION_SCOPE = "com.cloudflare.api.account.zone";

/** What a record holds. `DKIM` is a TXT record whose text comes from a key made at deploy time. */
export type RecordData =
    | { readonly type: "A"; readonly address: string }
    | { readonly type: "MX"; readonly priority: number; readonly target: string }
    | { readonly type: "TXT"; readonly text: string }
    | { readonly type: "DKIM"; readonly domain: string; readonly keyOf: string }
    | { readonly type: "SRV"; readonly priority: number; readonly weight: number; readonly port: number; readonly target: string }
    | { readonly type: "CAA"; readonly flags: number; readonly tag: "issue" | "issuewild" | "iodef"; readonly value: string };

/** Why a record exists (also the first part of its resource name). */
export type RecordRole =
    | "mail-host"
    | "web-host"
    | "mx"
    | "spf"
    | "dkim"
    | "dmarc"
    | "dmarc-report-auth"
    | "mta-sts"
    | "tls-rpt"
    | "srv"
    | "caa";

export interface DnsRecordSpec {
    /** Unique, stable key (`<role>-<name>[-<tag>]`): the component's resource name suffix. */
    readonly key: string;
    /** Zone (name) the record lives in. */
    readonly zone: string;
    /** Owner name, FQDN without trailing dot. */
    readonly name: string;
    readonly role: RecordRole;
    readonly data: RecordData;
    /** Orange cloud. Only pure web hosts listed in `cloudflareProxiedHosts` are ever proxied. */
    readonly proxied: boolean;
    readonly ttl: number;
    /** Shown in the Cloudflare dashboard (at most 100 characters, the Free plan's limit). */
    readonly comment: string;
}

/**
 * The zone a record name lives in, from the model's one map of published hostnames to zones: a name
 * with underscore labels (`_dmarc.<host>`, `<d>._report._dmarc.<host>`) lives in its host's zone, since
 * no zone name can hold an underscore label.
 */
export function zoneOf(model: Pick<Model, "cloudflare">, name: string): string {
    const labels = name.split(".");
    const lastUnderscore = labels.map((l) => l.startsWith("_")).lastIndexOf(true);
    const host = labels.slice(lastUnderscore + 1).join(".");
    const zone = model.cloudflare.zoneOfName[host];
    if (!zone) throw new Error(`dns: ${name} is in no zone of the model`);
    return zone;
}

/** The DKIM record name of a domain: `<selector>._domainkey.<domain>`. */
export function dkimRecordName(model: Pick<Model, "dkim">, domain: string): string {
    return `${model.dkim.selector}._domainkey.${domain}`;
}

/**
 * SPF: only the VPS public IP may send (`v=spf1 ip4:<vps> -all`), for every mail domain and for the
 * mail host (the HELO name, which SPF checks for bounces with an empty MAIL FROM).
 *
 * Why the IP and not the post's `mx`: outbound mail leaves only through the VPS's SNAT, whose address
 * is exactly the model's `vps.publicIp`; `ip4:` costs receivers no DNS lookup (RFC 7208's limit of
 * 10) and does not silently authorise a future backup MX (inbound) to send (outbound).
 */
export function spfText(model: Pick<Model, "addresses">): string {
    return `v=spf1 ip4:${model.addresses.vpsPublicIp} -all`;
}

const ALIGNMENT = { strict: "s", relaxed: "r" } as const;

/** DMARC (RFC 7489 6.4): v first, p second, then the rest in the ABNF's order. */
export function dmarcText(model: Pick<Model, "dmarc">): string {
    const d = model.dmarc;
    return [
        "v=DMARC1",
        `p=${d.policy}`,
        `sp=${d.subdomainPolicy}`,
        `rua=mailto:${d.reportAddress}`,
        `adkim=${ALIGNMENT[d.dkimAlignment]}`,
        `aspf=${ALIGNMENT[d.spfAlignment]}`,
    ].join("; ");
}

/** TLS-RPT (RFC 8460 3): where senders report MTA-STS/TLS failures. */
export function tlsRptText(model: Pick<Model, "tlsRptAddress">): string {
    return `v=TLSRPTv1; rua=mailto:${model.tlsRptAddress}`;
}

/**
 * The DKIM TXT value for a public key in PEM (SubjectPublicKeyInfo, as @pulumi/tls writes
 * `publicKeyPem`): `v=DKIM1; k=rsa; p=<base64 DER>` (RFC 6376 3.6.1). Longer than 255 bytes for
 * RSA-2048: {@link txtPresentation} splits it into strings.
 */
export function dkimTxtValue(publicKeyPem: string): string {
    const m = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(publicKeyPem);
    if (!m) throw new Error("dkimTxtValue: not a PEM public key (BEGIN PUBLIC KEY)");
    return `v=DKIM1; k=rsa; p=${m[1].replace(/\s+/g, "")}`;
}

/**
 * A TXT value in RFC 1035 presentation form: quoted character-strings of at most 255 bytes each,
 * separated by a space; double quote and backslash escaped with a backslash, bytes outside
 * printable ASCII as backslash + three decimal digits.
 *
 * This is the form Cloudflare stores TXT content in (it quotes and splits long values itself), so
 * sending it as such means a second `pulumi up` sees no difference on a 400-byte DKIM key; the zone
 * writer uses the same function, so Cloudflare and the rendered zone file hold the same strings.
 */
export function txtPresentation(value: string): string {
    const bytes = Buffer.from(value, "utf8");
    const strings: string[] = [];
    for (let i = 0; i === 0 || i < bytes.length; i += 255) {
        let s = "";
        for (const b of bytes.subarray(i, i + 255)) {
            if (b === 0x22 || b === 0x5c) s += `\\${String.fromCharCode(b)}`;
            else if (b < 0x20 || b > 0x7e) s += `\\${String(b).padStart(3, "0")}`;
            else s += String.fromCharCode(b);
        }
        strings.push(`"${s}"`);
    }
    return strings.join(" ");
}

/** The value of a TXT record in presentation form (the inverse of {@link txtPresentation}); undefined if it is not one. */
export function parseTxtPresentation(text: string): string | undefined {
    if (!/^\s*"(?:[^"\\]|\\.)*"(?:\s+"(?:[^"\\]|\\.)*")*\s*$/.test(text)) return undefined;
    const bytes: number[] = [];
    for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
        const chars = [...m[1]];
        for (let i = 0; i < chars.length; i++) {
            const digits = chars.slice(i + 1, i + 4).join("");
            if (chars[i] !== "\\") {
                bytes.push(...Buffer.from(chars[i], "utf8"));
            } else if (/^[0-9]{3}$/.test(digits)) {
                bytes.push(Number(digits));
                i += 3;
            } else {
                bytes.push(...Buffer.from(chars[i + 1], "utf8"));
                i += 1;
            }
        }
    }
    return Buffer.from(bytes).toString("utf8");
}

/** The domain part of an address. */
function domainOf(address: string): string {
    return address.slice(address.lastIndexOf("@") + 1);
}

/** True when `name` is `ancestor` or below it. */
function isAtOrBelow(name: string, ancestor: string): boolean {
    return name === ancestor || name.endsWith(`.${ancestor}`);
}

/**
 * Names that carry the CAA set: the fewest names whose subtrees cover every mail domain and every
 * host we publish. CAA is inherited down the tree (RFC 8659 3), so a mail domain's CAA covers its
 * mta-sts/openpgpkey/autoconfig hosts; the mail host gets its own only when no mail domain is above it.
 */
export function caaOwners(model: Pick<Model, "domains" | "mailHost" | "extraHostnames">): string[] {
    const names = [...new Set([...model.domains.map((d) => d.name), model.mailHost, ...model.extraHostnames])];
    return names.filter((n) => !names.some((other) => other !== n && isAtOrBelow(n, other))).sort();
}

/**
 * DMARC report authorisation (RFC 7489 7.1): when a domain's `rua` goes to another organisation,
 * the report domain must publish `<domain>._report._dmarc.<report domain>` TXT `v=DMARC1`, or
 * receivers drop the reports. Returned for every mail domain not at or below the report domain (the
 * organisational-domain rule needs the Public Suffix List; this errs towards one harmless record).
 */
export function dmarcReportAuthorizations(model: Pick<Model, "domains" | "dmarc">): { name: string; reportDomain: string; domain: string }[] {
    const reportDomain = domainOf(model.dmarc.reportAddress);
    return model.domains
        .filter((d) => !isAtOrBelow(d.name, reportDomain))
        .map((d) => ({ name: `${d.name}._report._dmarc.${reportDomain}`, reportDomain, domain: d.name }));
}

/**
 * How every record's comment starts: `homemail <stack>: `. It marks the records this stack owns, so
 * that the conflict check (render/dnsConflicts.ts) does not take them for someone else's.
 */
export function recordCommentPrefix(model: Pick<Model, "stack">): string {
    return `homemail ${model.stack}: `;
}

/** Every record of the deployment, in every zone, sorted by zone, name and key. */
export function renderDnsRecords(model: Model): DnsRecordSpec[] {
    const vps = model.addresses.vpsPublicIp;
    const records: DnsRecordSpec[] = [];
    const comment = (why: string) => `${recordCommentPrefix(model)}${why}`.slice(0, 100);
    const add = (role: RecordRole, name: string, data: RecordData, why: string, opts: { proxied?: boolean; keySuffix?: string } = {}) => {
        records.push({
            key: `${role}-${name}${opts.keySuffix ? `-${opts.keySuffix}` : ""}`,
            zone: zoneOf(model, name),
            name,
            role,
            data,
            proxied: opts.proxied ?? false,
            ttl: AUTO_TTL,
            comment: comment(why),
        });
    };

    // The mail host: MX target and PTR name; forward-confirmed rDNS needs its A = the VPS IP.
    add("mail-host", model.mailHost, { type: "A", address: vps }, "mail host (MX target, PTR name); never proxied");

    // Web hosts, all served through the VPS. Only pure web hosts (autoconfig, autodiscover, Mailu's
    // extra hostnames) may be proxied, and only when listed; MTA-STS and WKD hosts never are (the
    // config refuses them), because senders and WKD clients must reach the VPS's own certificates.
    for (const { name, proxied } of model.webHosts) {
        add("web-host", name, { type: "A", address: vps }, proxied ? "web host via the VPS (proxied)" : "web host via the VPS", { proxied });
    }

    for (const d of model.domains) addDomainRecords(model, d, add);

    // SPF for the HELO name too, unless the mail host is itself a mail domain (it has one already).
    if (!model.domains.some((d) => d.name === model.mailHost)) {
        add("spf", model.mailHost, { type: "TXT", text: spfText(model) }, "SPF of the HELO name: only the VPS sends");
    }

    for (const auth of dmarcReportAuthorizations(model)) {
        if (model.cloudflare.zoneOfName[auth.reportDomain] !== undefined) {
            add("dmarc-report-auth", auth.name, { type: "TXT", text: "v=DMARC1" }, `lets ${auth.domain} send DMARC reports here`);
        }
    }

    const iodef = `mailto:${model.adminAddress}`;
    for (const owner of caaOwners(model)) {
        add("caa", owner, { type: "CAA", flags: 0, tag: "issue", value: CAA_ISSUER }, "CAA: only Let's Encrypt issues", { keySuffix: "issue" });
        add("caa", owner, { type: "CAA", flags: 0, tag: "issuewild", value: ";" }, "CAA: no wildcard certificates", { keySuffix: "issuewild" });
        add("caa", owner, { type: "CAA", flags: 0, tag: "iodef", value: iodef }, "CAA: violations reported to the admin", { keySuffix: "iodef" });
    }

    records.sort((a, b) => a.zone.localeCompare(b.zone) || a.name.localeCompare(b.name) || a.key.localeCompare(b.key));
    const dup = records.find((r, i) => i > 0 && r.key === records[i - 1].key);
    if (dup) throw new Error(`dns: two records with key ${dup.key}`);
    const leaks = homeWanLeaks(model.addresses.homeWanIp, records.map((r) => ({ name: r.name, values: recordValues(r.data) })));
    if (leaks.length > 0) throw new Error(`dns: ${leaks.join("; ")}`);
    return records;
}

/** The texts a record publishes (DKIM: none here; its key is base64, which holds no dotted address). */
function recordValues(d: RecordData): string[] {
    switch (d.type) {
        case "A":
            return [d.address];
        case "MX":
        case "SRV":
            return [d.target];
        case "TXT":
            return [d.text];
        case "CAA":
            return [d.value];
        case "DKIM":
            return [];
    }
}

/**
 * Invariant: no record names the home connection's public address (`home.wanIp`), and no SPF
 * mechanism covers it. Home must never send mail directly nor be found through DNS: outbound mail
 * leaves only through the VPS, so an SPF that authorised the home address would let mail that
 * escaped the tunnel pass, and an A record would publish the home's address. One line per record.
 */
export function homeWanLeaks(homeWanIp: string, records: readonly { name: string; values: readonly string[] }[]): string[] {
    const home = ipaddr.IPv4.parse(homeWanIp);
    const literal = new RegExp(`(^|[^0-9.])${homeWanIp.replace(/\./g, "\\.")}(?![0-9]|\\.[0-9])`);
    const leaks: string[] = [];
    for (const r of records) {
        for (const value of r.values) {
            if (literal.test(value)) leaks.push(`${r.name} publishes home.wanIp ${homeWanIp} ("${value}")`);
            else if (value.startsWith("v=spf1")) {
                const covering = spfIp4Networks(value).filter(([net, len]) => home.match(net, len));
                for (const [net, len] of covering) leaks.push(`${r.name}: SPF mechanism ip4:${net.toString()}/${len} covers home.wanIp ${homeWanIp}`);
            }
        }
    }
    return leaks;
}

/** The networks of an SPF record's `ip4:` mechanisms (any qualifier; a bare address is a /32). */
function spfIp4Networks(spf: string): [ipaddr.IPv4, number][] {
    return spf
        .split(/\s+/)
        .map((term) => /^[+?~-]?ip4:([0-9.]+)(?:\/([0-9]{1,2}))?$/i.exec(term))
        .filter((m): m is RegExpExecArray => m !== null && ipaddr.IPv4.isValidFourPartDecimal(m[1]))
        .map((m) => [ipaddr.IPv4.parse(m[1]), m[2] === undefined ? 32 : Number(m[2])]);
}

type Add = (role: RecordRole, name: string, data: RecordData, why: string, opts?: { proxied?: boolean; keySuffix?: string }) => void;

/** MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT and SRV records of one mail domain. */
function addDomainRecords(model: Model, d: MailDomain, add: Add): void {
    add("mx", d.name, { type: "MX", priority: MX_PREFERENCE, target: model.mailHost }, "MX: mail goes to the mail host");
    add("spf", d.name, { type: "TXT", text: spfText(model) }, "SPF: only the VPS IP sends");
    // Alternative domains are signed with their parent's key (d=<alternative>), so they publish it.
    const keyOf = d.alternativeOf ?? d.name;
    add("dkim", dkimRecordName(model, d.name), { type: "DKIM", domain: d.name, keyOf }, keyOf === d.name ? "DKIM public key" : `DKIM public key (${keyOf}'s key)`);
    add("dmarc", `_dmarc.${d.name}`, { type: "TXT", text: dmarcText(model) }, "DMARC policy");
    add("mta-sts", `_mta-sts.${d.name}`, { type: "TXT", text: mtaStsTxt(model) }, "MTA-STS id (hash of the policy)");
    add("tls-rpt", `_smtp._tls.${d.name}`, { type: "TXT", text: tlsRptText(model) }, "TLS-RPT report address");
    // RFC 6186/8314 SRV: offered services from the port table, closed ones as "no service" (target ".").
    for (const p of model.ports) {
        if (!p.srv) continue;
        add("srv", `${p.srv}.${d.name}`, { type: "SRV", priority: SRV_PRIORITY, weight: SRV_WEIGHT, port: p.publicPort, target: model.mailHost }, `SRV: ${p.name} on ${p.publicPort}`);
    }
    for (const p of model.notOffered) {
        if (!p.srv) continue;
        add("srv", `${p.srv}.${d.name}`, { type: "SRV", priority: 0, weight: 0, port: 0, target: "." }, `SRV: ${p.name} not offered`);
    }
}

/** The TXT records of one role as name/value pairs (for stack outputs). */
export function txtRecords(records: readonly DnsRecordSpec[], role: RecordRole): { name: string; value: string }[] {
    return records.flatMap((r) => (r.role === role && r.data.type === "TXT" ? [{ name: r.name, value: r.data.text }] : []));
}

/** The records of one zone. */
export function zoneRecords(model: Model, zone: string): DnsRecordSpec[] {
    return renderDnsRecords(model).filter((r) => r.zone === zone);
}

/** What the ACME dns-01 token may do, and from where. */
export interface AcmeTokenSpec {
    /** Token name shown in the Cloudflare dashboard. */
    readonly name: string;
    /** Permission group names, looked up to ids at deploy time. */
    readonly permissionGroups: readonly string[];
    /** Cloudflare policy resources (JSON text): exactly the stack's zones. */
    readonly resources: string;
    /** Zone names the token covers (for the stack output). */
    readonly zones: readonly string[];
    /** Client addresses allowed to use the token (CIDR): the VPS public IP only. */
    readonly allowedFrom: readonly string[];
}

/**
 * The ACME dns-01 token: Zone Read (the ACME client finds the zone id) and DNS Write (it writes the
 * `_acme-challenge` TXT), on exactly the zones of this stack, usable only from the VPS.
 */
export function acmeTokenSpec(model: Pick<Model, "project" | "stack" | "cloudflare" | "addresses">): AcmeTokenSpec {
    const zones = [...model.cloudflare.zones].sort((a, b) => a.name.localeCompare(b.name));
    const resources = Object.fromEntries(zones.map((z) => [`${ZONE_PERMISSION_SCOPE}.${z.id}`, "*"]));
    return {
        name: `${model.project}-${model.stack}-acme-dns01`,
        permissionGroups: ACME_PERMISSION_GROUPS,
        resources: JSON.stringify(resources),
        zones: zones.map((z) => z.name),
        allowedFrom: [`${model.addresses.vpsPublicIp}/32`, ...(model.addresses.vpsPublicIpv6 ? [`${model.addresses.vpsPublicIpv6}/128`] : [])],
    };
}

/** The DS record values Cloudflare reports for a zone. */
export interface DsValues {
    readonly keyTag: number;
    readonly algorithm: number;
    readonly digestType: number;
    readonly digest: string;
}

/** What the registrar needs, as a stack output. */
export interface RegistrarDs extends DsValues {
    readonly zone: string;
    readonly algorithmName: string;
    readonly digestTypeName: string;
    /** The DS record in zone-file syntax. */
    readonly record: string;
    /** The manual step, with the exact values. */
    readonly instruction: string;
}

/** IANA DNSSEC algorithm numbers Cloudflare may use (it signs with 13). */
const DS_ALGORITHMS: Readonly<Record<number, string>> = { 8: "RSASHA256", 13: "ECDSAP256SHA256", 14: "ECDSAP384SHA384", 15: "ED25519" };
const DS_DIGESTS: Readonly<Record<number, string>> = { 1: "SHA-1", 2: "SHA-256", 4: "SHA-384" };

export function registrarDs(zone: string, ds: DsValues): RegistrarDs {
    const algorithmName = DS_ALGORITHMS[ds.algorithm] ?? `algorithm ${ds.algorithm}`;
    const digestTypeName = DS_DIGESTS[ds.digestType] ?? `digest type ${ds.digestType}`;
    const digest = ds.digest.toUpperCase();
    return {
        zone,
        ...ds,
        digest,
        algorithmName,
        digestTypeName,
        record: `${zone}. IN DS ${ds.keyTag} ${ds.algorithm} ${ds.digestType} ${digest}`,
        instruction:
            `At the registrar of ${zone}, add a DS record: key tag ${ds.keyTag}, algorithm ${ds.algorithm} (${algorithmName}), ` +
            `digest type ${ds.digestType} (${digestTypeName}), digest ${digest}. ` +
            `Check: \`dig +short DS ${zone}\` prints it once the parent zone has it.`,
    };
}

/** The PTR the VPS provider must set. */
export function ptrStep(model: Pick<Model, "addresses" | "mailHost">): { ip: string; name: string; instruction: string } {
    const ip = model.addresses.vpsPublicIp;
    return {
        ip,
        name: model.mailHost,
        instruction:
            `At your VPS provider, set the reverse DNS (PTR) of ${ip} to ${model.mailHost}. ` +
            `Check: \`dig +short -x ${ip}\` prints "${model.mailHost}." and \`dig +short A ${model.mailHost}\` prints "${ip}".`,
    };
}

/** The manual steps, in order, with exact values. `ds` is the registrar DS of each zone. */
export function nextSteps(model: Model, ds: readonly RegistrarDs[]): string[] {
    const steps = [ptrStep(model).instruction, ...[...ds].sort((a, b) => a.zone.localeCompare(b.zone)).map((d) => d.instruction)];
    for (const auth of dmarcReportAuthorizations(model)) {
        if (model.cloudflare.zoneOfName[auth.reportDomain] === undefined) {
            steps.push(
                `DMARC reports for ${auth.domain} go to ${model.dmarc.reportAddress}: ask the owner of ${auth.reportDomain} to publish ` +
                    `TXT "v=DMARC1" at ${auth.name} (RFC 7489 7.1), or receivers will not send them.`,
            );
        }
    }
    return steps;
}
