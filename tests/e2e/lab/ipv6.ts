/**
 * IPv6 on the lab's Internet, as most VPS images have it: a global address on the VPS's WAN link
 * and on the remote client's, both routed by the ISP router. Documentation prefix (RFC 3849): the
 * segment a.b.c.0/24 gets 2001:db8:c::/64 and host .d the address ::d (digits read as written), so
 * 203.0.113.10 is 2001:db8:113::10. No DNS name gets an AAAA: clients that go by name stay on IPv4,
 * and the VPS's IPv6 is what a scanner (or the doctor) finds.
 */
import type { Host } from "../../lab/harness";
import type { Internet } from "./internet";

/** The lab's IPv6 address of an IPv4 lab address. */
export function labIpv6(ipv4: string): string {
    const [, , c, d] = ipv4.split(".");
    return `2001:db8:${c}::${d}`;
}

const routerOf = (ipv4: string) => labIpv6(ipv4.replace(/\.\d+$/, ".1"));

/**
 * Gives the VPS (on the ISP link `to-<name>`) and the remote client (on the exchange bridge) their
 * IPv6 addresses and default routes, and the router IPv6 forwarding; returns the VPS's address.
 * No DAD (`nodad`): the addresses are usable at once.
 */
export function addLabIpv6(internet: Internet, vps: Host, vpsIpv4: string): string {
    const vpsAddress = labIpv6(vpsIpv4);
    internet.isp.sh(`set -e
        sysctl -q -w net.ipv6.conf.all.forwarding=1
        ip -6 address add ${routerOf(internet.remoteAddress)}/64 dev ix nodad
        ip -6 address add ${routerOf(vpsIpv4)}/64 dev to-${vps.name} nodad`);
    for (const [place, ipv4] of [[internet.remote, internet.remoteAddress], [vps, vpsIpv4]] as const) {
        place.sh(`set -e
            ip -6 address add ${labIpv6(ipv4)}/64 dev eth0 nodad
            ip -6 route add default via ${routerOf(ipv4)}`);
    }
    return vpsAddress;
}
