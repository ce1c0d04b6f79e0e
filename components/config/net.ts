/** IPv4 helpers over ipaddr.js: parsing with user-facing reasons, containment, overlap, ranges. */
import * as ipaddr from "ipaddr.js";

export interface Cidr {
    readonly network: ipaddr.IPv4;
    readonly prefix: number;
    readonly text: string;
}

/** RFC 5737 documentation ranges: allowed only in example/lab stacks. */
const TEST_NETS = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"].map((c) => ipaddr.IPv4.parseCIDR(c));

/** Parses an IPv4 address; returns a reason string on failure. IPv6 gets its own message. */
export function parseIpv4(text: string): ipaddr.IPv4 | string {
    if (ipaddr.IPv6.isValid(text) && !ipaddr.IPv4.isValid(text)) {
        return `"${text}" is IPv6; homemail supports IPv4 only for now`;
    }
    if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return `"${text}" is not an IPv4 address`;
    return ipaddr.IPv4.parse(text);
}

/**
 * A global unicast IPv6 address (2000::/3, not documentation 2001:db8::/32 unless `example`), in its
 * canonical RFC 5952 form; or the reason it is not one. No zone index, no brackets.
 */
export function parseGlobalIpv6(text: string, example: boolean): string | { readonly problem: string } {
    if (!ipaddr.IPv6.isValid(text) || text.includes("%") || ipaddr.IPv4.isValid(text)) return { problem: `"${text}" is not an IPv6 address` };
    const ip = ipaddr.IPv6.parse(text);
    const documentation = ip.match(ipaddr.IPv6.parseCIDR("2001:db8::/32"));
    if (documentation && example) return ip.toString();
    if (documentation) return { problem: `${ip.toString()} is a documentation address, not a real public IPv6` };
    if (ip.range() !== "unicast" || !ip.match(ipaddr.IPv6.parseCIDR("2000::/3"))) return { problem: `${ip.toString()} is not a global unicast IPv6 address (${ip.range()})` };
    return ip.toString();
}

/** Parses an IPv4 CIDR whose host bits are zero. */
export function parseCidr(text: string): Cidr | string {
    const slash = text.indexOf("/");
    if (slash < 0) return `"${text}" is not a CIDR (expected a.b.c.d/len)`;
    const addr = text.slice(0, slash);
    if (ipaddr.IPv6.isValid(addr) && !ipaddr.IPv4.isValid(addr)) {
        return `"${text}" is IPv6; homemail supports IPv4 only for now`;
    }
    if (!ipaddr.IPv4.isValidCIDR(text) || !ipaddr.IPv4.isValidFourPartDecimal(addr)) {
        return `"${text}" is not an IPv4 CIDR (expected a.b.c.d/len)`;
    }
    const [network, prefix] = ipaddr.IPv4.parseCIDR(text);
    const canonical = ipaddr.IPv4.networkAddressFromCIDR(text).toString();
    if (canonical !== network.toString()) {
        return `"${text}" has host bits set; the network is ${canonical}/${prefix}`;
    }
    return { network, prefix, text: `${canonical}/${prefix}` };
}

export function contains(cidr: Cidr, ip: ipaddr.IPv4): boolean {
    return ip.match(cidr.network, cidr.prefix);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
    return contains(a, b.network) || contains(b, a.network);
}

export function isTestNet(ip: ipaddr.IPv4): boolean {
    return TEST_NETS.some(([net, len]) => ip.match(net, len));
}

/** True for globally routable unicast IPv4 (not private, loopback, link-local, CGNAT, reserved...). */
export function isPublicUnicast(ip: ipaddr.IPv4): boolean {
    return ip.range() === "unicast";
}

export function isPrivate(ip: ipaddr.IPv4): boolean {
    return ip.range() === "private";
}

function toInt(ip: ipaddr.IPv4): number {
    return ip.octets.reduce((acc, o) => acc * 256 + o, 0);
}

function fromInt(n: number): ipaddr.IPv4 {
    return new ipaddr.IPv4([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

/** The n-th address of the network (0 = network address, -1 = broadcast). */
export function nthAddress(cidr: Cidr, n: number): string {
    const size = 2 ** (32 - cidr.prefix);
    const index = n >= 0 ? n : size + n;
    return fromInt(toInt(cidr.network) + index).toString();
}

/** True when ip is the network or broadcast address of cidr. */
export function isNetworkOrBroadcast(cidr: Cidr, ip: ipaddr.IPv4): boolean {
    const s = ip.toString();
    return s === nthAddress(cidr, 0) || s === nthAddress(cidr, -1);
}
