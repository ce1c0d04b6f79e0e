/**
 * Addresses: the VPS and home public IPs, the home LAN, the WireGuard network and its two hosts,
 * the endpoint the spoke dials, and Mailu's Docker network. Overlaps are refused here, naming the
 * key the user set and suggesting a range that overlaps nothing.
 */
import { DEFAULTS } from "../defaults";
import { KEYS } from "../keys";
import { isHostnameOrLabel, isIpv4 } from "../names";
import { Cidr, contains, isNetworkOrBroadcast, isPrivate, isPublicUnicast, isTestNet, nthAddress, overlaps, parseCidr, parseGlobalIpv6, parseIpv4 } from "../net";
import { Ctx, key, origin, requireSet } from "./context";

const IFACE = /^[A-Za-z0-9_.-]{1,15}$/;
/** docker0's default bridge network: a Mailu network inside it collides with every default container. */
const DOCKER0 = parseCidr("172.17.0.0/16") as Cidr;
/** Ranges offered as a fix, in order; the first that overlaps nothing else is suggested. */
const MAIL_SUBNET_CHOICES = [DEFAULTS.mailSubnet, "192.168.213.0/24", "172.30.203.0/24", "10.203.0.0/24"];
const WG_NETWORK_CHOICES = [DEFAULTS.wgNetwork, "10.201.1.0/24", "172.31.201.0/24", "192.168.201.0/24"];

export interface Networks {
    readonly vpsPublicIp?: string;
    /** Only an allowed source of the ACME token: nothing listens on it. */
    readonly vpsPublicIpv6?: string;
    readonly homeWanIp?: string;
    readonly vpsWanInterface: string;
    readonly homeLan?: Cidr;
    readonly wgNetwork?: Cidr;
    readonly mailSubnet?: Cidr;
}

/** A public IPv4 (a TEST-NET one only with `exampleAddresses`). */
export function publicIpv4(ctx: Ctx, where: string, value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    const ip = parseIpv4(value);
    if (typeof ip === "string") {
        ctx.problems.add(where, ip, "use a dotted-quad IPv4 address such as 203.0.113.10");
        return undefined;
    }
    if (isPublicUnicast(ip) || (isTestNet(ip) && ctx.example)) return ip.toString();
    if (isTestNet(ip)) ctx.problems.add(where, `${ip} is a documentation (TEST-NET) address, not a real public IP`, "set the host's real public IPv4, or for an example/lab stack set homemail:exampleAddresses true");
    else ctx.problems.add(where, `${ip} is not a public unicast address (${ip.range()})`, "set the host's public IPv4 as the Internet sees it");
    return undefined;
}

function cidrOf(ctx: Ctx, where: string, value: string | undefined, fix: string): Cidr | undefined {
    if (value === undefined) return undefined;
    const c = parseCidr(value);
    if (typeof c === "string") {
        ctx.problems.add(where, c, fix);
        return undefined;
    }
    return c;
}

interface Slot {
    readonly key: string;
    readonly what: string;
    readonly cidr?: Cidr;
    readonly userSet: boolean;
    /** Ranges to suggest when this one must move; none for the home LAN (a fact, not a choice). */
    readonly choices: readonly string[];
}

/** The first offered range that overlaps none of `others` (never the conflicting value itself). */
function freeRange(choices: readonly string[], others: readonly (Cidr | undefined)[], taken: Cidr): string {
    const fits = (text: string) => {
        const c = parseCidr(text) as Cidr;
        return !overlaps(c, taken) && !overlaps(c, DOCKER0) && others.every((o) => !o || !overlaps(c, o));
    };
    return choices.find(fits) ?? "a private range used nowhere else on either host";
}

/**
 * Overlaps between Mailu's network, the WireGuard network and the home LAN. The line goes to the
 * key the user set (the Mailu network, then the WireGuard network, before the LAN, which is a fact
 * of the user's home); the fix names a range that overlaps nothing.
 */
export function validateOverlaps(ctx: Ctx, slots: readonly Slot[]): void {
    for (let i = 0; i < slots.length; i++) {
        for (let j = i + 1; j < slots.length; j++) {
            const [a, b] = [slots[i], slots[j]];
            if (!a.cidr || !b.cidr || !overlaps(a.cidr, b.cidr)) continue;
            const blamed = a.userSet ? a : b;
            const other = blamed === a ? b : a;
            const mover = blamed.choices.length ? blamed : other;
            const stay = mover === blamed ? other : blamed;
            const rest = slots.filter((s) => s !== mover).map((s) => s.cidr);
            const suggestion = freeRange(mover.choices, rest, stay.cidr!);
            const fix = mover === blamed ? `use a range that overlaps nothing else, e.g. ${suggestion}` : `set ${mover.key} to a range that overlaps nothing else, e.g. ${suggestion}`;
            ctx.problems.add(blamed.key, `${blamed.cidr!.text} overlaps ${other.what}, ${origin(other.userSet, other.key, other.cidr!.text)}; routing would be ambiguous`, fix);
        }
    }
}

/** Mailu's network: private, /16 to /28, outside docker0's default network. */
function validateMailSubnet(ctx: Ctx, subnet: Cidr | undefined, others: readonly (Cidr | undefined)[]): void {
    if (!subnet) return;
    const fix = `e.g. pulumi config set homemail:mailSubnet ${freeRange(MAIL_SUBNET_CHOICES, others, subnet)}`;
    if (subnet.prefix < 16 || subnet.prefix > 28 || !isPrivate(subnet.network)) {
        ctx.problems.add(key("mailSubnet"), `${subnet.text} must be a private (RFC 1918) IPv4 network from /16 to /28 (a /28 has 14 addresses: Mailu's up to 9 containers, Docker's gateway and the resolver)`, fix);
    } else if (overlaps(subnet, DOCKER0)) {
        ctx.problems.add(key("mailSubnet"), `${subnet.text} overlaps ${DOCKER0.text}, the network of Docker's default bridge docker0`, fix);
    }
}

/** Public IPs, interfaces and the three networks. */
export function validateNetworks(ctx: Ctx): Networks {
    const { raw, problems } = ctx;
    requireSet(ctx, "vps");
    requireSet(ctx, "home");
    if (raw.ipv6 === true) problems.add(key("ipv6"), "IPv6 is not supported yet (the design routes IPv4 only)", "remove it: pulumi config rm homemail:ipv6");
    const vpsPublicIp = publicIpv4(ctx, key("vps", ".publicIp"), raw.vps?.publicIp);
    const homeWanIp = publicIpv4(ctx, key("home", ".wanIp"), raw.home?.wanIp);
    if (vpsPublicIp && homeWanIp && vpsPublicIp === homeWanIp) {
        problems.add(key("home", ".wanIp"), "equals homemail:vps.publicIp; home and VPS must be different hosts", "set the home connection's public IPv4");
    }
    // Only where the VPS's own clients may come from (the ACME token's allowed addresses): every
    // listener stays IPv4-only and the VPS firewall admits only SSH and WireGuard over IPv6.
    let vpsPublicIpv6: string | undefined;
    if (raw.vps?.publicIpv6 !== undefined) {
        const v6 = parseGlobalIpv6(raw.vps.publicIpv6, ctx.example);
        if (typeof v6 === "string") vpsPublicIpv6 = v6;
        else problems.add(key("vps", ".publicIpv6"), v6.problem, "set the VPS's global IPv6 address (ip -6 addr show scope global), or leave it unset when the VPS has none");
    }
    const vpsWanInterface = raw.vps?.wanInterface ?? DEFAULTS.vpsWanInterface;
    if (!IFACE.test(vpsWanInterface)) problems.add(key("vps", ".wanInterface"), `"${vpsWanInterface}" is not a network interface name`, "use the VPS interface that holds the public IP, e.g. eth0");
    const homeLan = cidrOf(ctx, key("home", ".lanCidr"), raw.home?.lanCidr, "use the home LAN's network, e.g. 192.168.1.0/24");
    const wgNetwork = cidrOf(ctx, key("wireguard", ".network"), raw.wireguard?.network ?? DEFAULTS.wgNetwork, KEYS.wireguard.example);
    const mailSubnet = cidrOf(ctx, key("mailSubnet"), raw.mailSubnet ?? DEFAULTS.mailSubnet, KEYS.mailSubnet.example);
    validateMailSubnet(ctx, mailSubnet, [homeLan, wgNetwork]);
    if (wgNetwork && (wgNetwork.prefix > 30 || !isPrivate(wgNetwork.network))) {
        problems.add(key("wireguard", ".network"), `${wgNetwork.text} must be a private (RFC 1918) IPv4 network of /30 or larger`, `e.g. ${freeRange(WG_NETWORK_CHOICES, [homeLan, mailSubnet], wgNetwork)}`);
    }
    if (homeLan && !isPrivate(homeLan.network)) {
        problems.add(key("home", ".lanCidr"), `${homeLan.text} is not a private (RFC 1918) network`, "use the home LAN's private network, e.g. 192.168.1.0/24");
    }
    validateOverlaps(ctx, [
        { key: key("mailSubnet"), what: "Mailu's network", cidr: mailSubnet, userSet: raw.mailSubnet !== undefined, choices: MAIL_SUBNET_CHOICES },
        { key: key("wireguard", ".network"), what: "the WireGuard network", cidr: wgNetwork, userSet: raw.wireguard?.network !== undefined, choices: WG_NETWORK_CHOICES },
        { key: key("home", ".lanCidr"), what: "the home LAN", cidr: homeLan, userSet: true, choices: [] },
    ]);
    return { vpsPublicIp, ...(vpsPublicIpv6 ? { vpsPublicIpv6 } : {}), homeWanIp, vpsWanInterface, homeLan, wgNetwork, mailSubnet };
}

export interface WireguardHosts {
    readonly hub?: string;
    readonly spoke?: string;
    readonly endpointHost?: string;
}

/**
 * The hub and spoke addresses inside the WireGuard network, and the endpoint the spoke dials. The
 * endpoint lands in `Endpoint = <host>:<port>` of the spoke's wg0.conf, which wg-quick runs as
 * root: only a hostname or an IPv4 address, so no newline, `#`, `[`, `=` or `:port` can reach it.
 */
export function validateWireguardHosts(ctx: Ctx, net: Cidr | undefined, vpsPublicIp: string | undefined): WireguardHosts {
    const wg = ctx.raw.wireguard ?? {};
    const netOrigin = net ? origin(wg.network !== undefined, key("wireguard", ".network"), net.text) : "";
    const host = (field: "hubAddress" | "spokeAddress", index: number, avoid?: string): string | undefined => {
        if (!net) return undefined;
        const where = key("wireguard", `.${field}`);
        const text = wg[field] ?? nthAddress(net, index);
        const ip = parseIpv4(text);
        const example = [1, 2, 3].map((n) => nthAddress(net, n)).find((a) => a !== avoid && a !== text);
        if (typeof ip === "string") ctx.problems.add(where, ip, `use an address inside ${net.text}, e.g. ${example}`);
        else if (!contains(net, ip) || isNetworkOrBroadcast(net, ip)) ctx.problems.add(where, `${ip} is not a host address inside the WireGuard network, ${netOrigin}`, `use an address inside ${net.text}, e.g. ${example}`);
        else return ip.toString();
        return undefined;
    };
    const hub = host("hubAddress", DEFAULTS.wgHubIndex);
    const spoke = host("spokeAddress", DEFAULTS.wgSpokeIndex, hub);
    if (hub && spoke && hub === spoke) {
        const blamed = wg.spokeAddress !== undefined ? "spokeAddress" : "hubAddress";
        const other = blamed === "spokeAddress" ? "hubAddress" : "spokeAddress";
        ctx.problems.add(key("wireguard", `.${blamed}`), `equals the ${other === "hubAddress" ? "hub" : "spoke"}'s address, ${origin(wg[other] !== undefined, key("wireguard", `.${other}`), hub)}`, "give hub and spoke different addresses");
    }
    let endpointHost = wg.endpointHost ?? vpsPublicIp;
    if (wg.endpointHost !== undefined) {
        const lower = wg.endpointHost.toLowerCase();
        if (isIpv4(lower) || isHostnameOrLabel(lower)) endpointHost = lower;
        else {
            ctx.problems.add(key("wireguard", ".endpointHost"), `${JSON.stringify(wg.endpointHost)} is not a hostname or an IPv4 address (no port, no spaces or other characters; the port is homemail:wireguard.port)`, "e.g. pulumi config set --path homemail:wireguard.endpointHost vps.example.net");
            endpointHost = undefined;
        }
    }
    return { hub, spoke, endpointHost };
}
