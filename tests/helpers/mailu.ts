/**
 * Reads Mailu's inputs the way Docker Compose and Mailu 2024.06 read them, so tests check what Mailu
 * will understand rather than what the renderer meant. Each rule names its source.
 */
import { parse } from "yaml";
import * as ipaddr from "ipaddr.js";
import { PRUNE } from "./mailuAdmin";

/**
 * An env_file as Compose reads it (compose-go dotenv): one KEY=VALUE per line, `#` lines and blank
 * lines skipped. Values Compose would rewrite (quotes, `$` interpolation, ` #` inline comments) are
 * listed in `ambiguous` instead of being guessed at.
 */
export function readEnvFile(text: string): { values: Map<string, string>; duplicates: string[]; ambiguous: string[]; malformed: string[] } {
    const values = new Map<string, string>();
    const duplicates: string[] = [];
    const ambiguous: string[] = [];
    const malformed: string[] = [];
    for (const line of text.split("\n")) {
        if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
        if (!m) {
            malformed.push(line);
            continue;
        }
        const [, key, value] = m;
        if (values.has(key)) duplicates.push(key);
        if (/^["']/.test(value) || value.includes("$") || / #/.test(value) || value !== value.trim()) ambiguous.push(key);
        values.set(key, value);
    }
    return { values, duplicates, ambiguous, malformed };
}

/**
 * Mailu's boolean coercion (core/base/libs/socrate/socrate/system.py `_coerce_value`, the same in
 * core/admin/mailu/configuration.py): "true"/"yes" -> true, "false"/"no" -> false, case-insensitive;
 * anything else stays a string (and is truthy in Mailu's templates when non-empty).
 */
export function mailuValue(value: string): boolean | string {
    const lower = value.toLowerCase();
    if (lower === "true" || lower === "yes") return true;
    if (lower === "false" || lower === "no") return false;
    return value;
}

const PROTO_MAIL = [25, 110, 995, 143, 993, 587, 465, 4190];
const PROTO_ALL_BUT_HTTP = [...PROTO_MAIL, 443];
const PROTO_ALL = [...PROTO_ALL_BUT_HTTP, 80];

/**
 * PROXY_PROTOCOL as Mailu 2024.06's front expands it (core/nginx/config.py): split on "," without
 * trimming; `item.isdigit()` is a port; `mail`, `all-but-http`, `all` are aliases; anything else is
 * logged as an error and ignored (" 465" with a space is such an item).
 */
export function proxyProtocolPorts(value: string): { ports: Set<number>; unknown: string[] } {
    const ports = new Set<number>();
    const unknown: string[] = [];
    for (const item of value.split(",")) {
        if (/^[0-9]+$/.test(item)) ports.add(Number(item));
        else if (item === "mail") PROTO_MAIL.forEach((p) => ports.add(p));
        else if (item === "all-but-http") PROTO_ALL_BUT_HTTP.forEach((p) => ports.add(p));
        else if (item === "all") PROTO_ALL.forEach((p) => ports.add(p));
        else unknown.push(item);
    }
    return { ports, unknown };
}

/**
 * PORTS as the front reads it (core/nginx/config.py): split on ",", each item enables `PORT_<item>`
 * verbatim; only plain numbers match a listener in nginx.conf.
 */
export function frontPorts(value: string): { ports: Set<number>; unknown: string[] } {
    const ports = new Set<number>();
    const unknown: string[] = [];
    for (const item of value.split(",")) {
        if (/^[0-9]+$/.test(item)) ports.add(Number(item));
        else unknown.push(item);
    }
    return { ports, unknown };
}

/**
 * REAL_IP_FROM as the front's templates use it: `REAL_IP_FROM.split(',')`, each item one nginx
 * `set_real_ip_from` and one dovecot `haproxy_trusted_networks` entry; returns the items that are not
 * an IPv4 address or CIDR as written (a space makes one invalid).
 */
export function realIpFrom(value: string): { items: string[]; invalid: string[] } {
    const items = value.split(",");
    const invalid = items.filter((i) => !(ipaddr.IPv4.isValidFourPartDecimal(i) || (ipaddr.IPv4.isValidCIDR(i) && ipaddr.IPv4.isValidFourPartDecimal(i.split("/")[0]))));
    return { items, invalid };
}

/** True when an address is covered by one of the REAL_IP_FROM items. */
export function trusts(items: readonly string[], address: string): boolean {
    const ip = ipaddr.IPv4.parse(address);
    return items.some((i) => (i.includes("/") ? ip.match(ipaddr.IPv4.parseCIDR(i)) : i === address));
}

export interface ImportedDomain {
    readonly name: string;
    readonly alternatives: string[];
    readonly dkimKey?: string;
}
export interface ImportedUser {
    readonly email: string;
    readonly password?: string;
    readonly hashPassword: boolean;
    readonly globalAdmin: boolean;
    readonly displayedName?: string;
    readonly quotaBytes?: number;
}
export interface ImportedAlias {
    readonly email: string;
    readonly destination: string[];
}
export interface MailuImportRead {
    readonly domains: ImportedDomain[];
    readonly users: ImportedUser[];
    readonly aliases: ImportedAlias[];
    /** What Mailu would reject or misread, one line each. */
    readonly problems: string[];
}

/**
 * The config-import YAML as Mailu 2024.06 reads it: PyYAML `safe_load` (YAML 1.1: yes/no/on/off are
 * booleans) and the marshmallow schemas of core/admin/mailu/schemas.py: sections `domain`, `user`,
 * `alias`; `email`/`name` required strings; a plain `password` needs `hash_password: true`; `destination`
 * is a list or a comma-separated string (CommaSeparatedListField, items stripped); in update mode a key
 * or a list item starting with "-" means "remove". Lists are returned without the `-prune-` marker,
 * which every list must carry (else a removal never reaches Mailu: see tests/helpers/mailuAdmin.ts).
 */
export function readMailuImport(text: string): MailuImportRead {
    const problems: string[] = [];
    // PyYAML's Reader refuses non-printable characters (reader.py NON_PRINTABLE), and its scanner
    // treats \x85, \u2028 and \u2029 as line breaks, which fold inside a quoted scalar: both must be
    // escaped, never written raw.
    const refused = /[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.exec(text);
    if (refused) problems.push(`PyYAML refuses the character U+${refused[0].codePointAt(0)?.toString(16).padStart(4, "0")}`);
    const lineBreak = /[\x85\u2028\u2029]/.exec(text);
    if (lineBreak) problems.push(`PyYAML reads U+${lineBreak[0].charCodeAt(0).toString(16).padStart(4, "0")} as a line break`);
    const doc = (parse(text, { version: "1.1" }) ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(doc)) if (!["domain", "user", "alias", "relay"].includes(key)) problems.push(`unknown section ${key}`);
    const items = (section: string): Record<string, unknown>[] => {
        const v = doc[section];
        if (v === undefined) return [];
        if (!Array.isArray(v)) {
            problems.push(`${section} is not a list`);
            return [];
        }
        return v as Record<string, unknown>[];
    };
    const str = (where: string, v: unknown, required: boolean): string | undefined => {
        if (v === undefined && !required) return undefined;
        if (typeof v !== "string") {
            problems.push(`${where} is not a string (${JSON.stringify(v)})`);
            return undefined;
        }
        return v;
    };
    const bool = (where: string, v: unknown): boolean => {
        if (v === undefined) return false;
        if (typeof v !== "boolean") problems.push(`${where} is not a boolean (${JSON.stringify(v)})`);
        return v === true;
    };
    const strList = (where: string, v: unknown, commaSeparated: boolean): string[] => {
        if (v === undefined || v === null) {
            problems.push(`${where} is missing: a list removed from the config would stay in Mailu`);
            return [];
        }
        const list = typeof v === "string" && commaSeparated ? v.split(",").map((x) => x.trim()).filter(Boolean) : v;
        if (!Array.isArray(list) || list.some((x) => typeof x !== "string")) {
            problems.push(`${where} is not a list of strings`);
            return [];
        }
        // Mailu's "replace this list" marker (tests/helpers/mailuAdmin.ts has the merge rules): without
        // it an --update import joins the list with Mailu's, and a removed value stays.
        const values = (list as string[]).filter((x) => x !== PRUNE);
        if (values.length === (list as string[]).length) problems.push(`${where} has no "${PRUNE}" marker: a value removed from the config would stay in Mailu`);
        for (const x of values) if (x.startsWith("-")) problems.push(`${where} item ${x} would be read as "remove"`);
        return values;
    };
    const noDashKeys = (where: string, o: Record<string, unknown>) => {
        for (const k of Object.keys(o)) if (k.startsWith("-")) problems.push(`${where}.${k} would be read as "remove"`);
    };

    const domains = items("domain").map((d, i) => {
        noDashKeys(`domain[${i}]`, d);
        return { name: str(`domain[${i}].name`, d.name, true) ?? "", alternatives: strList(`domain[${i}].alternatives`, d.alternatives, false), dkimKey: str(`domain[${i}].dkim_key`, d.dkim_key, false) };
    });
    const users = items("user").map((u, i) => {
        noDashKeys(`user[${i}]`, u);
        const user: ImportedUser = {
            email: str(`user[${i}].email`, u.email, true) ?? "",
            password: str(`user[${i}].password`, u.password, false),
            hashPassword: bool(`user[${i}].hash_password`, u.hash_password),
            globalAdmin: bool(`user[${i}].global_admin`, u.global_admin),
            displayedName: str(`user[${i}].displayed_name`, u.displayed_name, false),
            quotaBytes: typeof u.quota_bytes === "number" ? u.quota_bytes : undefined,
        };
        if (user.password !== undefined && !user.hashPassword) problems.push(`user[${i}].password is plain but hash_password is not true`);
        return user;
    });
    const aliases = items("alias").map((a, i) => {
        noDashKeys(`alias[${i}]`, a);
        return { email: str(`alias[${i}].email`, a.email, true) ?? "", destination: strList(`alias[${i}].destination`, a.destination, true) };
    });
    return { domains, users, aliases, problems };
}
