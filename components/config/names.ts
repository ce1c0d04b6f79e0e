/**
 * Syntax of the names the config holds: DNS labels and hostnames, e-mail addresses, SSH targets.
 * Pure predicates; the validators turn a false into a problem naming the key.
 */
import * as ipaddr from "ipaddr.js";

export const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
/** RFC 5322 dot-atom local part (lowercase; addresses are lowercased before the check). */
const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

function labelsAreValid(labels: readonly string[]): boolean {
    return labels.every((l) => LABEL.test(l)) && !/^[0-9]+$/.test(labels[labels.length - 1]);
}

/** A valid DNS hostname with at least two labels (lowercased, no trailing dot). */
export function isHostname(name: string): boolean {
    if (name.length > 253 || name.endsWith(".")) return false;
    const labels = name.split(".");
    return labels.length >= 2 && labelsAreValid(labels);
}

/** A hostname of one label or more: LAN names such as `nas` are fine for SSH. */
export function isHostnameOrLabel(name: string): boolean {
    return name.length <= 253 && !name.endsWith(".") && labelsAreValid(name.split("."));
}

export function isIpv4(text: string): boolean {
    return ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** `[2001:db8::1]`: the only way an IPv6 literal fits into `ssh://user@host:port`. */
export function isBracketedIpv6(text: string): boolean {
    const m = /^\[([0-9A-Fa-f:.]+)\]$/.exec(text);
    return !!m && ipaddr.IPv6.isValid(m[1]);
}

/** POSIX portable user name as Debian's adduser accepts it by default (and nothing ssh parses as an option). */
export const POSIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

export function splitAddress(address: string): { local: string; domain: string } | undefined {
    const at = address.lastIndexOf("@");
    if (at <= 0) return undefined;
    const local = address.slice(0, at);
    const domain = address.slice(at + 1);
    if (local.length > 64 || !LOCAL_PART.test(local) || !isHostname(domain)) return undefined;
    return { local, domain };
}

/**
 * Local-part characters that mean something inside a `mailto:` URI of a DMARC or TLS-RPT record:
 * `!` starts DMARC's size limit (RFC 7489 6.2), `#` `%` `&` `?` `/` are URI delimiters or escapes
 * (RFC 3986 2.2), and `=` and the rest are not in RFC 6068's unescaped set for every receiver.
 */
export const MAILTO_UNSAFE = /[!#$%&'*/=?^`{|}~]/;
