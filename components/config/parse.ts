/**
 * Stack config -> Model. Pure: takes the config map Pulumi hands the program (every value a string)
 * and the list of keys set with `--secret`; returns a frozen Model or throws one ConfigError that
 * lists every problem. Secret values are checked for presence and shape, never copied into the model.
 */
import type { z } from "zod";
import { ConfigError, ProblemList } from "./errors";
import { KEYS, KeyName, KeySpec, NAMESPACE, RawValues } from "./keys";
import type {
    MailAlias,
    MailDomain,
    MailUser,
    Model,
    SecretRef,
    SshTarget,
    Zone,
} from "./model";
import {
    Cidr,
    contains,
    isNetworkOrBroadcast,
    isPrivate,
    isPublicUnicast,
    isTestNet,
    nthAddress,
    overlaps,
    parseCidr,
    parseIpv4,
} from "./net";
import { NOT_OFFERED, PORT_TABLE, proxyV2Ports } from "./ports";
import { DEFAULTS } from "./defaults";
import { deriveWkdPublications, WkdUserInput } from "./openpgp";

export interface ConfigInput {
    /** Pulumi's config map: `namespace:key` -> string value (objects as JSON). */
    readonly values: Readonly<Record<string, string>>;
    /** Keys (`namespace:key`) whose values were set with `--secret`. */
    readonly secretKeys: readonly string[];
    readonly project: string;
    readonly stack: string;
}

const k = (name: KeyName, path = ""): string => `${NAMESPACE}:${name}${path}`;

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const IFACE = /^[A-Za-z0-9_.-]{1,15}$/;
const MAILU_PATCH = /^\d{4}\.\d{2}\.\d+$/;
const CF_ID = /^[0-9a-f]{32}$/;
const ABS_PATH = /^\/[A-Za-z0-9._/@-]*$/;

/** A valid DNS hostname with at least two labels (lowercased, no trailing dot). */
export function isHostname(name: string): boolean {
    if (name.length > 253 || name.endsWith(".")) return false;
    const labels = name.split(".");
    return labels.length >= 2 && labels.every((l) => LABEL.test(l)) && !/^[0-9]+$/.test(labels[labels.length - 1]);
}

export function splitAddress(address: string): { local: string; domain: string } | undefined {
    const at = address.lastIndexOf("@");
    if (at <= 0) return undefined;
    const local = address.slice(0, at);
    const domain = address.slice(at + 1);
    if (local.length > 64 || !LOCAL_PART.test(local) || !isHostname(domain)) return undefined;
    return { local, domain };
}

function levenshtein(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
    }
    return d[a.length][b.length];
}

function zodPath(path: readonly PropertyKey[]): string {
    return path.map((p) => (typeof p === "number" ? `[${p}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(String(p)) ? `.${String(p)}` : `["${String(p)}"]`)).join("");
}

/** Step 1: decode every `homemail:` value by its encoding and check its shape. */
function decode(input: ConfigInput, problems: ProblemList): RawValues {
    const raw: Record<string, unknown> = {};
    const known = Object.keys(KEYS);
    for (const [fullKey, text] of Object.entries(input.values).sort(([a], [b]) => a.localeCompare(b))) {
        const [ns, ...rest] = fullKey.split(":");
        if (ns !== NAMESPACE) continue;
        const name = rest.join(":");
        const spec: KeySpec | undefined = (KEYS as Record<string, KeySpec>)[name];
        if (!spec) {
            const near = known.filter((n) => levenshtein(n.toLowerCase(), name.toLowerCase()) <= 3);
            problems.add(
                fullKey,
                "is not a homemail setting",
                near.length ? `did you mean ${near.map((n) => `${NAMESPACE}:${n}`).join(" or ")}?` : `remove it: pulumi config rm ${fullKey}`,
            );
            continue;
        }
        if (spec.secret === "required" && !input.secretKeys.includes(fullKey)) {
            problems.add(fullKey, "holds a secret but was set in plain text", `set it again with --secret: ${spec.example}`);
            continue;
        }
        let value: unknown = text;
        if (spec.encoding === "boolean") {
            if (text !== "true" && text !== "false") {
                problems.add(fullKey, `must be true or false, got "${text}"`, spec.example);
                continue;
            }
            value = text === "true";
        } else if (spec.encoding === "number") {
            value = Number(text);
        } else if (spec.encoding === "json") {
            try {
                value = JSON.parse(text);
            } catch {
                problems.add(fullKey, "is not a structured value (YAML object or list)", spec.example);
                continue;
            }
        }
        const result = (spec.schema as z.ZodType).safeParse(value);
        if (!result.success) {
            for (const issue of result.error.issues) {
                const where = fullKey + zodPath(issue.path);
                const problem =
                    issue.code === "unrecognized_keys"
                        ? `has unknown field(s) ${issue.keys.map((x) => `"${x}"`).join(", ")}`
                        : issue.message.replace(/^Invalid input: /, "");
                problems.add(where, problem, spec.example);
            }
            continue;
        }
        raw[name] = result.data;
    }
    return raw as RawValues;
}

/** Step 2: semantic checks and derived values. */
function build(input: ConfigInput, raw: RawValues, problems: ProblemList): Model | undefined {
    const example = raw.exampleAddresses ?? false;
    const missing = (name: KeyName) => problems.add(k(name), "is required but not set", KEYS[name].example);

    if (raw.ipv6 === true) {
        problems.add(k("ipv6"), "IPv6 is not supported yet (the design routes IPv4 only)", "remove it: pulumi config rm homemail:ipv6");
    }

    // ---- zones and domains ----
    const zones: Zone[] = [];
    if (!raw.cloudflareZones || Object.keys(raw.cloudflareZones).length === 0) {
        if (raw.cloudflareZones) problems.add(k("cloudflareZones"), "lists no zone", KEYS.cloudflareZones.example);
        else missing("cloudflareZones");
    } else {
        for (const [name, id] of Object.entries(raw.cloudflareZones)) {
            const zoneName = name.toLowerCase();
            if (!isHostname(zoneName)) problems.add(k("cloudflareZones", `["${name}"]`), `"${name}" is not a valid zone name`, KEYS.cloudflareZones.example);
            else if (!CF_ID.test(id)) problems.add(k("cloudflareZones", `["${name}"]`), `"${id}" is not a Cloudflare zone id (32 lowercase hex)`, "copy the Zone ID from the zone's Overview page in Cloudflare");
            else zones.push({ name: zoneName, id });
        }
        zones.sort((a, b) => a.name.localeCompare(b.name));
    }
    if (raw.cloudflareAccountId === undefined) missing("cloudflareAccountId");
    else if (!CF_ID.test(raw.cloudflareAccountId)) problems.add(k("cloudflareAccountId"), `"${raw.cloudflareAccountId}" is not a Cloudflare account id (32 lowercase hex)`, KEYS.cloudflareAccountId.example);

    const zoneOf = (host: string): string | undefined =>
        zones
            .map((z) => z.name)
            .filter((z) => host === z || host.endsWith(`.${z}`))
            .sort((a, b) => b.length - a.length)[0];
    const zoneList = zones.map((z) => z.name).join(", ") || "(none)";

    /** Checks a hostname is valid and under a zone; returns it lowercased or undefined. */
    const hostUnderZone = (key: string, value: string, fix: string): string | undefined => {
        const host = value.toLowerCase();
        if (!isHostname(host)) {
            problems.add(key, `"${value}" is not a valid hostname`, fix);
            return undefined;
        }
        if (zones.length && !zoneOf(host)) {
            problems.add(key, `"${host}" is not inside any zone of homemail:cloudflareZones (${zoneList})`, `add its zone to homemail:cloudflareZones, or use a name under ${zoneList}`);
            return undefined;
        }
        return host;
    };

    const domains: MailDomain[] = [];
    const domainNames = new Set<string>();
    const addDomain = (key: string, value: string, kind: MailDomain["kind"], alternativeOf?: string): void => {
        const name = hostUnderZone(key, value, KEYS.extraDomains.example);
        if (!name) return;
        if (domainNames.has(name)) {
            problems.add(key, `domain "${name}" is listed more than once`, "list each mail domain once");
            return;
        }
        domainNames.add(name);
        domains.push({
            name,
            kind,
            alternativeOf,
            zone: zoneOf(name) ?? name,
            autoconfigHost: `autoconfig.${name}`,
            autodiscoverHost: `autodiscover.${name}`,
            mtaStsHost: `mta-sts.${name}`,
            openpgpkeyHost: `openpgpkey.${name}`,
        });
    };
    if (raw.primaryDomain === undefined) missing("primaryDomain");
    else addDomain(k("primaryDomain"), raw.primaryDomain, "primary");
    const primary = domains[0]?.name;
    [...(raw.extraDomains ?? [])].forEach((d, i) => addDomain(k("extraDomains", `[${i}]`), d, "extra"));
    const mainDomains = new Set(domains.map((d) => d.name));
    for (const [parent, alts] of Object.entries(raw.alternativeDomains ?? {})) {
        const parentName = parent.toLowerCase();
        if (!mainDomains.has(parentName)) {
            problems.add(k("alternativeDomains", `["${parent}"]`), `"${parent}" is not homemail:primaryDomain or one of homemail:extraDomains`, "key each list of alternative domains by a configured mail domain");
            continue;
        }
        alts.forEach((alt, i) => addDomain(k("alternativeDomains", `["${parent}"][${i}]`), alt, "alternative", parentName));
    }
    const kindOrder = { primary: 0, extra: 1, alternative: 2 } as const;
    domains.sort((a, b) => kindOrder[a.kind] - kindOrder[b.kind] || a.name.localeCompare(b.name));
    const isOurDomain = (d: string) => domainNames.has(d);
    const canonicalDomain = (d: string) => domains.find((x) => x.name === d)?.alternativeOf ?? d;

    // ---- hostnames ----
    const mailHost = primary
        ? hostUnderZone(k("mailHost"), raw.mailHost ?? `mail.${primary}`, KEYS.mailHost.example)
        : undefined;
    const extraHostnames = [...new Set((raw.extraHostnames ?? []).map((h, i) => hostUnderZone(k("extraHostnames", `[${i}]`), h, KEYS.extraHostnames.example)).filter((h): h is string => !!h))].sort();
    const proxiedHosts = [...new Set((raw.cloudflareProxiedHosts ?? []).map((h, i) => {
        const host = hostUnderZone(k("cloudflareProxiedHosts", `[${i}]`), h, KEYS.cloudflareProxiedHosts.example);
        if (host && (host === mailHost || domains.some((d) => d.name === host || d.mtaStsHost === host || d.openpgpkeyHost === host))) {
            problems.add(k("cloudflareProxiedHosts", `[${i}]`), `"${host}" carries mail, MTA-STS or WKD traffic and must stay DNS-only (grey cloud)`, "proxy only pure web hosts, or remove the entry");
            return undefined;
        }
        return host;
    }).filter((h): h is string => !!h))].sort();

    // ---- addresses ----
    const ipKey = (key: string, value: string | undefined, opts: { publicRequired: boolean }): string | undefined => {
        if (value === undefined) return undefined;
        const ip = parseIpv4(value);
        if (typeof ip === "string") {
            problems.add(key, ip, "use a dotted-quad IPv4 address such as 203.0.113.10");
            return undefined;
        }
        if (opts.publicRequired && !isPublicUnicast(ip)) {
            if (isTestNet(ip) && example) return ip.toString();
            if (isTestNet(ip)) {
                problems.add(key, `${ip} is a documentation (TEST-NET) address, not a real public IP`, "set the host's real public IPv4, or for an example/lab stack set homemail:exampleAddresses true");
            } else {
                problems.add(key, `${ip} is not a public unicast address (${ip.range()})`, "set the host's public IPv4 as the Internet sees it");
            }
            return undefined;
        }
        return ip.toString();
    };
    const cidrKey = (key: string, value: string, fix: string): Cidr | undefined => {
        const c = parseCidr(value);
        if (typeof c === "string") {
            problems.add(key, c, fix);
            return undefined;
        }
        return c;
    };

    if (!raw.vps) missing("vps");
    if (!raw.home) missing("home");
    const vpsIp = ipKey(k("vps", ".publicIp"), raw.vps?.publicIp, { publicRequired: true });
    const homeWanIp = ipKey(k("home", ".wanIp"), raw.home?.wanIp, { publicRequired: true });
    if (vpsIp && homeWanIp && vpsIp === homeWanIp) {
        problems.add(k("home", ".wanIp"), "equals homemail:vps.publicIp; home and VPS must be different hosts", "set the home connection's public IPv4");
    }
    const wanIf = raw.vps?.wanInterface ?? DEFAULTS.vpsWanInterface;
    if (!IFACE.test(wanIf)) problems.add(k("vps", ".wanInterface"), `"${wanIf}" is not a network interface name`, "use the VPS interface that holds the public IP, e.g. eth0");

    const homeLan = raw.home ? cidrKey(k("home", ".lanCidr"), raw.home.lanCidr, "use the home LAN's network, e.g. 192.168.1.0/24") : undefined;
    const wgRaw = raw.wireguard ?? {};
    const wgNet = cidrKey(k("wireguard", ".network"), wgRaw.network ?? DEFAULTS.wgNetwork, KEYS.wireguard.example);
    const mailSubnet = cidrKey(k("mailSubnet"), raw.mailSubnet ?? DEFAULTS.mailSubnet, KEYS.mailSubnet.example);
    if (mailSubnet && (mailSubnet.prefix < 16 || mailSubnet.prefix > 29 || !isPrivate(mailSubnet.network))) {
        problems.add(k("mailSubnet"), `${mailSubnet.text} must be a private (RFC 1918) IPv4 network between /16 and /29`, KEYS.mailSubnet.example);
    }
    if (mailSubnet && mailSubnet.prefix === 29) {
        problems.add(k("mailSubnet"), `${mailSubnet.text} has 6 host addresses, too few for Mailu (up to 9 containers, Docker's gateway and the resolver)`, "use a /28 or larger, e.g. 192.168.203.0/24");
    }
    if (wgNet && (wgNet.prefix > 30 || !isPrivate(wgNet.network))) {
        problems.add(k("wireguard", ".network"), `${wgNet.text} must be a private (RFC 1918) IPv4 network of /30 or larger`, KEYS.wireguard.example);
    }
    if (homeLan && !isPrivate(homeLan.network)) {
        problems.add(k("home", ".lanCidr"), `${homeLan.text} is not a private (RFC 1918) network`, "use the home LAN's private network, e.g. 192.168.1.0/24");
    }
    const nets: [string, Cidr | undefined][] = [
        [k("mailSubnet"), mailSubnet],
        [k("wireguard", ".network"), wgNet],
        [k("home", ".lanCidr"), homeLan],
    ];
    for (let i = 0; i < nets.length; i++) {
        for (let j = i + 1; j < nets.length; j++) {
            const [ka, a] = nets[i];
            const [kb, b] = nets[j];
            if (a && b && overlaps(a, b)) {
                problems.add(kb, `${b.text} overlaps ${ka} (${a.text}); routing would be ambiguous`, `pick a range that overlaps neither, e.g. ${kb.endsWith("mailSubnet") ? "192.168.203.0/24" : kb.includes("wireguard") ? "10.0.1.0/24" : "192.168.1.0/24"}`);
            }
        }
    }
    const wgHost = (key: string, value: string | undefined, fallbackIndex: number): string | undefined => {
        if (!wgNet) return undefined;
        const text = value ?? nthAddress(wgNet, fallbackIndex);
        const ip = parseIpv4(text);
        if (typeof ip === "string") {
            problems.add(key, ip, `use an address inside ${wgNet.text}`);
            return undefined;
        }
        if (!contains(wgNet, ip) || isNetworkOrBroadcast(wgNet, ip)) {
            problems.add(key, `${ip} is not a host address inside homemail:wireguard.network (${wgNet.text})`, `use an address inside ${wgNet.text}, e.g. ${nthAddress(wgNet, fallbackIndex)}`);
            return undefined;
        }
        return ip.toString();
    };
    const wgHub = wgHost(k("wireguard", ".hubAddress"), wgRaw.hubAddress, 1);
    const wgSpoke = wgHost(k("wireguard", ".spokeAddress"), wgRaw.spokeAddress, 2);
    if (wgHub && wgSpoke && wgHub === wgSpoke) {
        problems.add(k("wireguard", ".spokeAddress"), `equals homemail:wireguard.hubAddress (${wgHub})`, "give hub and spoke different addresses");
    }
    const wgPort = wgRaw.port ?? DEFAULTS.wgPort;

    // ---- ssh ----
    const ssh = (which: "vps" | "home", secretKey: "vpsSshPrivateKey" | "homeSshPrivateKey"): SshTarget | undefined => {
        const r = raw[which];
        if (!r) return undefined;
        const host = r.sshHost ?? (which === "vps" ? vpsIp : undefined);
        if (!host) {
            if (which === "home") problems.add(k("home", ".sshHost"), "is required: how Pulumi reaches the home server over SSH", "pulumi config set --path homemail:home.sshHost 192.168.1.10");
            return undefined;
        }
        const privateKey: SecretRef | undefined = raw[secretKey] !== undefined ? { configKey: k(secretKey) } : undefined;
        return { host, port: r.sshPort ?? 22, user: r.sshUser ?? "root", privateKey };
    };
    const vpsSsh = ssh("vps", "vpsSshPrivateKey");
    const homeSsh = ssh("home", "homeSshPrivateKey");
    if (raw.vps?.sshPort !== undefined && PORT_TABLE.some((p) => p.publicPort === raw.vps?.sshPort)) {
        problems.add(k("vps", ".sshPort"), `${raw.vps.sshPort} is a public mail/web port of the gateway`, "run SSH on another port (22 is fine)");
    }

    // ---- admin, users, aliases ----
    const addressKey = (key: string, value: string, fix: string): { address: string; local: string; domain: string } | undefined => {
        const address = value.trim().toLowerCase();
        const parts = splitAddress(address);
        if (!parts) {
            problems.add(key, `"${value}" is not an e-mail address`, fix);
            return undefined;
        }
        return { address, ...parts };
    };
    const ownMainDomain = (key: string, domain: string, what: string): boolean => {
        if (!mainDomains.has(domain)) {
            const alt = domains.find((d) => d.name === domain && d.kind === "alternative");
            problems.add(key, alt ? `${what} is in alternative domain ${domain}; Mailu keeps accounts in the main domain ${alt.alternativeOf}` : `${what} is not in a mail domain of this stack (${[...mainDomains].join(", ") || "none"})`, alt ? `use @${alt.alternativeOf} (mail to @${domain} reaches it automatically)` : "use an address in homemail:primaryDomain or homemail:extraDomains");
            return false;
        }
        return true;
    };

    const adminText = raw.adminAddress ?? (primary ? `admin@${primary}` : undefined);
    const admin = adminText ? addressKey(k("adminAddress"), adminText, KEYS.adminAddress.example) : undefined;
    if (admin) ownMainDomain(k("adminAddress"), admin.domain, `admin address ${admin.address}`);

    const passwords = raw.userPasswords ?? {};
    /** A mailbox; its password comes from homemail:userPasswords when set there, else @pulumi/random. */
    const mailUser = (
        a: { address: string; local: string; domain: string },
        extra: Pick<MailUser, "displayName" | "quotaBytes" | "openpgpPublicKey">,
    ): MailUser => ({
        address: a.address,
        localPart: a.local,
        domain: a.domain,
        ...extra,
        globalAdmin: a.address === admin?.address,
        password: Object.keys(passwords).some((p) => p.toLowerCase() === a.address)
            ? { source: "config", ref: { configKey: k("userPasswords"), path: a.address } }
            : { source: "random" },
    });
    const users: MailUser[] = [];
    const wkdUsers: WkdUserInput[] = [];
    const seenUsers = new Map<string, number>();
    (raw.users ?? []).forEach((u, i) => {
        const key = k("users", `[${i}].address`);
        const a = addressKey(key, u.address, KEYS.users.example);
        if (!a || !ownMainDomain(key, a.domain, `user ${a.address}`)) return;
        if (seenUsers.has(a.address)) {
            problems.add(key, `user ${a.address} is already defined at homemail:users[${seenUsers.get(a.address)}]`, "define each user once");
            return;
        }
        seenUsers.set(a.address, i);
        wkdUsers.push({ address: a.address, userConfigKey: k("users", `[${i}]`), armoredKey: u.openpgpPublicKey });
        users.push(mailUser(a, { displayName: u.displayName, quotaBytes: u.quotaBytes, openpgpPublicKey: u.openpgpPublicKey }));
    });
    for (const p of Object.keys(passwords)) {
        if (!seenUsers.has(p.toLowerCase()) && p.toLowerCase() !== admin?.address) {
            problems.add(k("userPasswords", `["${p}"]`), `sets a password for ${p}, which is not in homemail:users`, `add ${p} to homemail:users or remove the password`);
        }
    }
    if (admin && mainDomains.has(admin.domain) && !seenUsers.has(admin.address)) {
        wkdUsers.push({ address: admin.address, userConfigKey: k("adminAddress") }); // a user without a users[] entry
        users.push(mailUser(admin, {}));
    }
    users.sort((a, b) => a.address.localeCompare(b.address));
    const wkdPublications = deriveWkdPublications({ domains: domains.map((d) => d.name), users: wkdUsers }, problems);

    const aliases: MailAlias[] = [];
    const aliasKeys = new Map<string, number>();
    (raw.aliases ?? []).forEach((al, i) => {
        const key = k("aliases", `[${i}].address`);
        const a = addressKey(key, al.address, KEYS.aliases.example);
        if (!a || !ownMainDomain(key, a.domain, `alias ${a.address}`)) return;
        if (seenUsers.has(a.address) || a.address === admin?.address) {
            problems.add(key, `${a.address} is also a user; an address is either a mailbox or an alias`, "remove the alias or the user");
            return;
        }
        if (aliasKeys.has(a.address)) {
            problems.add(key, `alias ${a.address} is already defined at homemail:aliases[${aliasKeys.get(a.address)}]`, "merge the destinations into one alias");
            return;
        }
        aliasKeys.set(a.address, i);
        const destinations: string[] = [];
        al.destinations.forEach((d, j) => {
            const dest = addressKey(k("aliases", `[${i}].destinations[${j}]`), d, "use a full e-mail address as destination");
            if (dest?.address.startsWith("-")) {
                // Mailu's config-import (update mode) reads a list item starting with "-" as "remove this item".
                problems.add(k("aliases", `[${i}].destinations[${j}]`), `${dest.address} starts with "-", which Mailu's config-import reads as "remove this destination"`, "use an address whose local part does not start with -");
            } else if (dest) destinations.push(dest.address);
        });
        aliases.push({ address: a.address, localPart: a.local, domain: a.domain, destinations, standard: false });
    });
    if ((raw.standardAliases ?? true) && admin) {
        for (const d of domains.filter((x) => x.kind !== "alternative")) {
            for (const local of DEFAULTS.standardAliasLocalParts) {
                const address = `${local}@${d.name}`;
                if (seenUsers.has(address) || aliasKeys.has(address) || address === admin.address) continue;
                aliases.push({ address, localPart: local, domain: d.name, destinations: [admin.address], standard: true });
            }
        }
    }
    aliases.sort((a, b) => a.address.localeCompare(b.address));

    // Destinations inside our own domains must reach a mailbox or alias we define.
    const deliverable = (address: string): boolean => {
        const parts = splitAddress(address);
        if (!parts || !isOurDomain(parts.domain)) return true;
        const canonical = `${parts.local}@${canonicalDomain(parts.domain)}`;
        return users.some((u) => u.address === canonical) || aliases.some((a) => a.address === canonical);
    };
    (raw.aliases ?? []).forEach((al, i) => {
        al.destinations.forEach((d, j) => {
            const dest = d.trim().toLowerCase();
            if (splitAddress(dest) && !deliverable(dest)) {
                problems.add(k("aliases", `[${i}].destinations[${j}]`), `${dest} is in a domain of this stack but is neither a user nor an alias`, `add ${dest} to homemail:users or homemail:aliases, or fix the typo`);
            }
        });
    });

    const reportKey = (name: "dmarc" | "tlsRptAddress", path: string, value: string | undefined): string | undefined => {
        if (value === undefined) return admin?.address;
        const a = addressKey(k(name, path), value, KEYS[name].example);
        if (a && !deliverable(a.address)) {
            problems.add(k(name, path), `${a.address} is in a domain of this stack but is neither a user nor an alias`, "use an existing user or alias, or an address elsewhere");
            return undefined;
        }
        return a?.address;
    };
    const dmarcRaw = raw.dmarc ?? {};
    const dmarcReport = reportKey("dmarc", ".reportAddress", dmarcRaw.reportAddress);
    const tlsRpt = reportKey("tlsRptAddress", "", raw.tlsRptAddress);
    const acme = raw.acmeEmail !== undefined ? addressKey(k("acmeEmail"), raw.acmeEmail, KEYS.acmeEmail.example)?.address : admin?.address;

    // ---- small settings ----
    const selector = (raw.dkimSelector ?? DEFAULTS.dkimSelector).toLowerCase();
    if (!LABEL.test(selector)) problems.add(k("dkimSelector"), `"${raw.dkimSelector}" is not a DNS label`, KEYS.dkimSelector.example);

    const imagesRaw = raw.images ?? {};
    const image = (name: "traefik" | "haproxy" | "nginx"): string => {
        const tag = imagesRaw[name] ?? DEFAULTS.images[name];
        if (!IMAGE_TAG.test(tag) || tag === "latest") {
            problems.add(k("images", `.${name}`), tag === "latest" ? `"latest" is not a pin` : `"${tag}" is not an image tag`, `pin a release tag, e.g. pulumi config set --path homemail:images.${name} ${DEFAULTS.images[name]}`);
        }
        return tag;
    };
    const images = { traefik: image("traefik"), haproxy: image("haproxy"), nginx: image("nginx") };
    if (/^v?3\.5\.2$/.test(images.traefik)) {
        problems.add(k("images", ".traefik"), "Traefik v3.5.2 sends wrong PROXY protocol addresses", `use ${DEFAULTS.images.traefik}`);
    } else if (IMAGE_TAG.test(images.traefik) && images.traefik !== "latest") {
        // The gateway renders Traefik v3 configuration (tcp.serversTransports with PROXY v2) for v3.6+.
        const v = /^v?3\.(\d+)\.\d+$/.exec(images.traefik);
        if (!v || Number(v[1]) < 6) {
            problems.add(k("images", ".traefik"), `"${images.traefik}" is not a Traefik v3.6 or newer release tag (homemail renders Traefik v3.6+ configuration)`, `pin a release such as ${DEFAULTS.images.traefik}`);
        }
    }
    if (IMAGE_TAG.test(images.haproxy) && images.haproxy !== "latest" && !/^3\.2\.\d+(-[a-z0-9.]+)?$/.test(images.haproxy)) {
        problems.add(k("images", ".haproxy"), `"${images.haproxy}" is not an HAProxy 3.2 LTS release tag (haproxy.cfg is kept to what 3.2 accepts)`, `pin a 3.2 release such as ${DEFAULTS.images.haproxy}`);
    }
    const existingDir = raw.gateway?.existingTraefikDynamicDir;
    if (existingDir !== undefined && (existingDir === "/" || `${existingDir}/`.startsWith("/opt/homemail/gateway/"))) {
        problems.add(k("gateway", ".existingTraefikDynamicDir"), `"${existingDir}" is homemail's own gateway directory`, "use the directory your existing Traefik's file provider watches, e.g. /opt/traefik/dynamic");
    }
    const mailuRaw = raw.mailu ?? {};
    const mailuVersion = mailuRaw.version ?? DEFAULTS.mailuVersion;
    if (!MAILU_PATCH.test(mailuVersion) || !mailuVersion.startsWith("2024.06.")) {
        problems.add(k("mailu", ".version"), `"${mailuVersion}" is not a Mailu 2024.06 patch release (homemail renders Mailu 2024.06 settings)`, `pin a 2024.06 patch release, e.g. ${DEFAULTS.mailuVersion}`);
    }
    const dataRoot = mailuRaw.dataRoot ?? DEFAULTS.mailuDataRoot;
    const stateDir = raw.egress?.stateDir ?? DEFAULTS.egressStateDir;
    for (const [key, path] of [[k("mailu", ".dataRoot"), dataRoot], [k("egress", ".stateDir"), stateDir], [k("gateway", ".existingTraefikDynamicDir"), raw.gateway?.existingTraefikDynamicDir]] as const) {
        if (path !== undefined && (!ABS_PATH.test(path) || path.split("/").includes(".."))) {
            problems.add(key, `"${path}" is not an absolute path without spaces or ".."`, "use an absolute path such as /srv/mailu");
        }
    }
    // The egress scripts' record of what they changed must outlive a reboot, or disable cannot undo it.
    if (ABS_PATH.test(stateDir) && /^\/(run|var\/run|tmp|dev\/shm)(\/|$)/.test(stateDir)) {
        problems.add(k("egress", ".stateDir"), `"${stateDir}" is emptied at reboot; disable could no longer undo what enable recorded`, `use a directory on disk, e.g. ${DEFAULTS.egressStateDir}`);
    }

    if (ABS_PATH.test(dataRoot) && (dataRoot === "/" || dataRoot.endsWith("/"))) {
        problems.add(k("mailu", ".dataRoot"), `"${dataRoot}" must name a directory below / without a trailing slash (Mailu's data goes into subdirectories of it)`, "use an absolute path such as /srv/mailu");
    }

    if (!problems.empty || !primary || !mailHost || !admin || !vpsIp || !homeWanIp || !homeLan || !wgNet || !wgHub || !wgSpoke || !mailSubnet || !vpsSsh || !homeSsh || !acme || !dmarcReport || !tlsRpt || raw.cloudflareAccountId === undefined) {
        return undefined;
    }

    const passthroughHosts = [
        mailHost,
        ...[...new Set([...extraHostnames, ...domains.flatMap((d) => [d.autoconfigHost, d.autodiscoverHost])])].filter((h) => h !== mailHost).sort(),
    ];

    return {
        project: input.project,
        stack: input.stack,
        exampleAddresses: example,
        cloudflare: { accountId: raw.cloudflareAccountId, zones, proxiedHosts },
        domains,
        mailHost,
        extraHostnames,
        passthroughHosts,
        acmeEmail: acme,
        adminAddress: admin.address,
        vps: { ssh: vpsSsh },
        home: { ssh: homeSsh },
        addresses: {
            vpsPublicIp: vpsIp,
            vpsWanInterface: wanIf,
            homeWanIp,
            homeLan: homeLan.text,
            wgNetwork: wgNet.text,
            wgPrefixLength: wgNet.prefix,
            wgHub,
            wgSpoke,
            wgPort,
            wgMtu: wgRaw.mtu ?? DEFAULTS.wgMtu,
            wgKeepalive: wgRaw.keepaliveSeconds ?? DEFAULTS.wgKeepalive,
            wgEndpointHost: wgRaw.endpointHost ?? vpsIp,
            mailuSubnet: mailSubnet.text,
            mailuBridge: DEFAULTS.mailuBridge,
            mailuGateway: nthAddress(mailSubnet, 1),
            mailuResolver: nthAddress(mailSubnet, -2),
            // Traefik and HAProxy run on the VPS host network and reach home through wg0, so Mailu
            // sees them connect from the hub address; the public IP is listed for hairpin traffic.
            gatewaySourceAddresses: [wgHub, vpsIp],
            wkdListen: DEFAULTS.wkdListen,
        },
        ports: PORT_TABLE,
        notOffered: NOT_OFFERED,
        proxyV2Ports: proxyV2Ports(PORT_TABLE),
        mailu: {
            version: mailuVersion,
            dataRoot,
            webmail: mailuRaw.webmail ?? "snappymail",
            antivirus: mailuRaw.antivirus ?? false,
            webdav: mailuRaw.webdav ?? false,
            fetchmail: mailuRaw.fetchmail ?? false,
            api: mailuRaw.api ?? false,
            authRequireTokens: mailuRaw.authRequireTokens ?? false,
            pruneRemoved: mailuRaw.pruneRemoved ?? false,
            messageSizeLimit: mailuRaw.messageSizeLimitBytes ?? DEFAULTS.messageSizeLimit,
        },
        dkim: { selector },
        dmarc: {
            policy: dmarcRaw.policy ?? DEFAULTS.dmarcPolicy,
            subdomainPolicy: dmarcRaw.subdomainPolicy ?? dmarcRaw.policy ?? DEFAULTS.dmarcPolicy,
            reportAddress: dmarcReport,
            dkimAlignment: dmarcRaw.dkimAlignment ?? DEFAULTS.dmarcAlignment,
            spfAlignment: dmarcRaw.spfAlignment ?? DEFAULTS.dmarcAlignment,
        },
        mtaSts: {
            mode: raw.mtaSts?.mode ?? "testing",
            maxAgeSeconds: raw.mtaSts?.maxAgeSeconds ?? DEFAULTS.mtaStsMaxAge,
        },
        tlsRptAddress: tlsRpt,
        users,
        aliases,
        wkd: { publications: wkdPublications },
        images: { ...images, mailu: mailuVersion, mailuRegistry: DEFAULTS.mailuRegistry, mailuRedis: DEFAULTS.mailuRedisImage, mailuAntivirus: DEFAULTS.mailuAntivirusImage },
        gateway: {
            firewall: raw.gateway?.firewall ?? true,
            existingTraefikDynamicDir: raw.gateway?.existingTraefikDynamicDir,
        },
        wireguard: { keyEpoch: wgRaw.keyEpoch ?? DEFAULTS.wgKeyEpoch },
        egress: {
            enabled: raw.egress?.enabled ?? true,
            fwmark: raw.egress?.fwmark ?? DEFAULTS.egressFwmark,
            routeTable: raw.egress?.routeTable ?? DEFAULTS.egressRouteTable,
            rulePriority: raw.egress?.rulePriority ?? DEFAULTS.egressRulePriority,
            stateDir,
        },
    };
}

function deepFreeze<T>(value: T): T {
    if (value && typeof value === "object" && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const v of Object.values(value as object)) deepFreeze(v);
    }
    return value;
}

/** Parses and validates the whole stack config. Throws {@link ConfigError} listing every problem. */
export function parseModel(input: ConfigInput): Model {
    const problems = new ProblemList();
    // The Cloudflare provider's own credential must be a secret too, or it sits in the stack file in clear.
    for (const key of ["cloudflare:apiToken", "cloudflare:apiKey"]) {
        if (input.values[key] !== undefined && !input.secretKeys.includes(key)) {
            problems.add(key, "holds a credential but was set in plain text", `set it again with --secret: pulumi config set --secret ${key} <value>`);
        }
    }
    const raw = decode(input, problems);
    const model = build(input, raw, problems);
    if (!problems.empty || !model) {
        throw new ConfigError(problems.empty ? [{ key: NAMESPACE, problem: "the config is incomplete", fix: "see README.md, 'Configuration'" }] : problems.all);
    }
    return deepFreeze(model);
}
