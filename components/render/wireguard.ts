/**
 * wg0.conf for the hub (VPS) and the spoke (home). Pure: Model + the two public keys -> HostFiles.
 *
 * Neither file holds a private key: each host generated its own (assets/wireguard/ensure-key.sh)
 * and wg-quick loads it in PostUp. The design (ARCHITECTURE.md, blog post "WireGuard Config
 * Nuance", with the post's over-wide FORWARD rules narrowed):
 * - spoke: `Table = off` (no route from AllowedIPs; only the egress policy routes into the tunnel),
 *   an Address whose prefix gives the kernel a route to the WireGuard network and nothing else,
 *   loose rp_filter on wg0 (replies to Mailu's SMTP arrive on wg0 although the main table routes the
 *   MX elsewhere), peer AllowedIPs `0.0.0.0/0` (any destination may be encapsulated to the hub) plus
 *   the WireGuard network, PersistentKeepalive (home is behind NAT);
 * - hub: peer AllowedIPs = the spoke's address and, with egress, the Mailu subnet (what may come
 *   from home, and where replies go); FORWARD accepts inside the WireGuard network, Mailu-subnet
 *   tcp/25 out of the WAN, and from the WAN into wg0 only replies.
 */
import type { Model } from "../config/model";
import type { HostFile } from "./hostFile";

/** Interface name on both hosts (wg-quick@wg0). */
export const WG_INTERFACE = "wg0";
export const WG_CONF_PATH = `/etc/wireguard/${WG_INTERFACE}.conf`;
/** Private key file, generated on each host, 0600, never read back. */
export const WG_KEY_PATH = `/etc/wireguard/${WG_INTERFACE}.key`;
/** Installed egress script; the spoke's PostUp re-applies the egress policy through it. */
export const EGRESS_SCRIPT_PATH = "/usr/local/sbin/homemail-smtp-egress";
/** Comment carried by every FORWARD rule the hub's wg0.conf adds, so PostDown removes only those. */
export const WG_RULE_TAG = "homemail-wireguard";
const SMTP_PORT = 25;

/** The public keys each host reported (the only key material that ever leaves a host). */
export interface WireguardPublicKeys {
    readonly hub: string;
    readonly spoke: string;
}

export interface WireguardFiles {
    readonly hub: HostFile;
    readonly spoke: HostFile;
}

/** The subset of the model this renderer reads. */
export type WireguardModel = Pick<Model, "addresses" | "egress">;

const WG_PUBLIC_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** Renders both wg0.conf files. Throws on a malformed public key (a programming error upstream). */
export function renderWireguard(model: WireguardModel, keys: WireguardPublicKeys): WireguardFiles {
    for (const [role, key] of Object.entries(keys)) {
        if (!WG_PUBLIC_KEY.test(key)) throw new Error(`WireGuard ${role} public key is not a 32-byte base64 key`);
    }
    return {
        hub: conf("vps", hubLines(model, keys.spoke)),
        spoke: conf("home", spokeLines(model, keys.hub)),
    };
}

/** The FORWARD rule specs (iptables words, `%i` = wg interface) the hub installs while wg0 is up. */
export function hubForwardRules(model: WireguardModel): string[][] {
    const a = model.addresses;
    const tag = ["-m", "comment", "--comment", WG_RULE_TAG];
    const rules: string[][] = [["-i", "%i", "-o", "%i", "-s", a.wgNetwork, "-d", a.wgNetwork, ...tag, "-j", "ACCEPT"]];
    if (model.egress.enabled) {
        rules.push(
            ["-i", "%i", "-o", a.vpsWanInterface, "-s", a.mailuSubnet, "-p", "tcp", "--dport", String(SMTP_PORT), ...tag, "-j", "ACCEPT"],
            ["-i", a.vpsWanInterface, "-o", "%i", "-d", a.mailuSubnet, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", ...tag, "-j", "ACCEPT"],
        );
    }
    return rules;
}

/**
 * The hub's PostDown: deletes each FORWARD rule iptables-save lists with the homemail tag. The tagged
 * rules hold no quotes or spaces inside a word (the tag is one word), so word splitting of a saved
 * rule gives back its arguments.
 */
export function hubPostDown(): string {
    return `PostDown = iptables-save -t filter | sed -n 's/^-A FORWARD \\(.* --comment ${WG_RULE_TAG} .*\\)$/\\1/p' | while read -r rule; do iptables -w 10 -D FORWARD $rule; done`;
}

/** AllowedIPs of the hub's peer (home): the spoke's own address, and the Mailu subnet with egress. */
export function hubAllowedIps(model: WireguardModel): string[] {
    const a = model.addresses;
    return sortCidrs([`${a.wgSpoke}/32`, ...(model.egress.enabled ? [a.mailuSubnet] : [])]);
}

/** AllowedIPs of the spoke's peer (VPS): any destination, and the WireGuard network. */
export function spokeAllowedIps(model: WireguardModel): string[] {
    return sortCidrs(["0.0.0.0/0", model.addresses.wgNetwork]);
}

function hubLines(model: WireguardModel, spokePublicKey: string): string[] {
    const a = model.addresses;
    const rules = hubForwardRules(model);
    return [
        "# WireGuard hub (VPS). The private key is not in this file: it was generated on this host.",
        "[Interface]",
        `Address = ${a.wgHub}/${a.wgPrefixLength}`,
        `ListenPort = ${a.wgPort}`,
        `MTU = ${a.wgMtu}`,
        `PostUp = wg set %i private-key ${WG_KEY_PATH}`,
        "# Forward only what the design needs (checked before added: PostUp may run again).",
        ...rules.map((r) => `PostUp = iptables -w 10 -C FORWARD ${r.join(" ")} 2>/dev/null || iptables -w 10 -A FORWARD ${r.join(" ")}`),
        "# Remove every FORWARD rule tagged by homemail, whatever this file says now: a restart runs the",
        "# new file's PostDown, and rules of an older config would linger otherwise.",
        hubPostDown(),
        "",
        "[Peer]",
        "# home (spoke)",
        `PublicKey = ${spokePublicKey}`,
        `AllowedIPs = ${hubAllowedIps(model).join(", ")}`,
    ];
}

function spokeLines(model: WireguardModel, hubPublicKey: string): string[] {
    const a = model.addresses;
    return [
        "# WireGuard spoke (home). The private key is not in this file: it was generated on this host.",
        "[Interface]",
        "# The prefix gives the kernel a route to the WireGuard network, the only route wg0 gets.",
        `Address = ${a.wgSpoke}/${a.wgPrefixLength}`,
        `MTU = ${a.wgMtu}`,
        "# No routes from AllowedIPs: only the egress policy (fwmark -> table) routes into the tunnel.",
        "Table = off",
        `PostUp = wg set %i private-key ${WG_KEY_PATH}`,
        "# Loose reverse-path filter: replies to Mailu's SMTP come in here, the MX is routed elsewhere.",
        "PostUp = sysctl -q -w net.ipv4.conf.%i.rp_filter=2",
        ...(model.egress.enabled
            ? [
                  "# The kernel dropped wg0's routes when it went down: put the egress route back.",
                  `PostUp = if [ -x ${EGRESS_SCRIPT_PATH} ]; then ${EGRESS_SCRIPT_PATH} reapply || echo "homemail: SMTP egress re-apply failed (it stays fail-closed)" >&2; fi`,
              ]
            : []),
        "",
        "[Peer]",
        "# VPS (hub)",
        `PublicKey = ${hubPublicKey}`,
        `Endpoint = ${a.wgEndpointHost}:${a.wgPort}`,
        `AllowedIPs = ${spokeAllowedIps(model).join(", ")}`,
        `PersistentKeepalive = ${a.wgKeepalive}`,
    ];
}

function conf(host: HostFile["host"], lines: string[]): HostFile {
    return {
        host,
        path: WG_CONF_PATH,
        mode: "0600",
        owner: "root:root",
        secret: false,
        content: ["# managed by homemail, do not edit", ...lines, ""].join("\n"),
        // wg-quick only accepts <interface>.conf names, so check a copy under that name.
        validate: `sh -c 'd=$(mktemp -d) && cp "$1" "$d/${WG_INTERFACE}.conf" && wg-quick strip "$d/${WG_INTERFACE}.conf" >/dev/null; r=$?; rm -rf "$d"; exit $r' wg-validate {}`,
    };
}

/** Sorts IPv4 CIDRs by network address, then prefix length: a stable order whatever the input order. */
export function sortCidrs(cidrs: readonly string[]): string[] {
    const key = (c: string): [number, number] => {
        const [ip, len] = c.split("/");
        const n = ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
        return [n, Number(len)];
    };
    return [...new Set(cidrs)].sort((x, y) => {
        const [a, b] = [key(x), key(y)];
        return a[0] - b[0] || a[1] - b[1];
    });
}
