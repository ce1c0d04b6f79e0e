/**
 * The invalid-config corpus: each case is the dev stack with one thing wrong, and the exact config
 * key (as written in the stack file, with its path) that the error must name. Each issue appends the
 * cases for its own keys.
 */
import type { ConfigChange } from "../helpers/stack";
import { devValue } from "../helpers/stack";
import { DNS_CASES } from "./dns";
import { EGRESS_CASES } from "./egress";
import { GATEWAY_CASES } from "./gateway";
import { MAILU_CASES } from "./mailu";
import { WKD_CASES } from "./wkd";

export interface InvalidCase {
    readonly title: string;
    readonly changes: readonly ConfigChange[];
    /** The key the (first matching) error line must start with. */
    readonly key: string;
    /** A word or phrase the message must contain (what is wrong / the fix). */
    readonly mentions: string | RegExp;
}

const vps = () => devValue("homemail:vps");
const home = () => devValue("homemail:home");
const wg = () => devValue("homemail:wireguard");

export const FOUNDATION_CASES: InvalidCase[] = [
    { title: "unknown key (typo) gets a suggestion", changes: [{ key: "homemail:mailSubent", value: "192.168.203.0/24" }], key: "homemail:mailSubent", mentions: "did you mean homemail:mailSubnet" },
    { title: "missing primary domain", changes: [{ key: "homemail:primaryDomain", value: undefined }], key: "homemail:primaryDomain", mentions: "required" },
    { title: "missing zones", changes: [{ key: "homemail:cloudflareZones", value: undefined }], key: "homemail:cloudflareZones", mentions: "required" },
    { title: "zone id not 32 hex", changes: [{ key: "homemail:cloudflareZones", value: { "example.com": "not-an-id" } }], key: 'homemail:cloudflareZones["example.com"]', mentions: "zone id" },
    { title: "account id not 32 hex", changes: [{ key: "homemail:cloudflareAccountId", value: "1234" }], key: "homemail:cloudflareAccountId", mentions: "account id" },
    { title: "primary domain without a zone", changes: [{ key: "homemail:primaryDomain", value: "example.net" }], key: "homemail:primaryDomain", mentions: "not inside any zone" },
    { title: "extra domain without a zone", changes: [{ key: "homemail:extraDomains", value: ["example.org"] }], key: "homemail:extraDomains[0]", mentions: "not inside any zone" },
    { title: "alternative domain keyed by an unknown domain", changes: [{ key: "homemail:alternativeDomains", value: { "other.com": ["alt.example.com"] } }], key: 'homemail:alternativeDomains["other.com"]', mentions: "not homemail:primaryDomain" },
    { title: "mail host outside every zone", changes: [{ key: "homemail:mailHost", value: "mail.example.net" }], key: "homemail:mailHost", mentions: "not inside any zone" },
    { title: "invalid hostname", changes: [{ key: "homemail:mailHost", value: "mail_host.example.com" }], key: "homemail:mailHost", mentions: "not a valid hostname" },
    { title: "VPS IP not an address", changes: [{ key: "homemail:vps", value: { ...vps(), publicIp: "203.0.113.300" } }], key: "homemail:vps.publicIp", mentions: "not an IPv4 address" },
    { title: "VPS IP private", changes: [{ key: "homemail:vps", value: { ...vps(), publicIp: "192.168.1.5" } }], key: "homemail:vps.publicIp", mentions: "not a public unicast" },
    { title: "TEST-NET VPS IP without the example flag", changes: [{ key: "homemail:exampleAddresses", value: undefined }], key: "homemail:vps.publicIp", mentions: "homemail:exampleAddresses" },
    { title: "IPv6 VPS address refused", changes: [{ key: "homemail:vps", value: { ...vps(), publicIp: "2001:db8::10" } }], key: "homemail:vps.publicIp", mentions: "IPv4 only" },
    { title: "IPv6 Mailu subnet refused", changes: [{ key: "homemail:mailSubnet", value: "fd00:203::/64" }], key: "homemail:mailSubnet", mentions: "IPv4 only" },
    { title: "IPv6 switch refused", changes: [{ key: "homemail:ipv6", value: "true" }], key: "homemail:ipv6", mentions: "not supported" },
    { title: "CIDR with host bits", changes: [{ key: "homemail:mailSubnet", value: "192.168.203.7/24" }], key: "homemail:mailSubnet", mentions: "host bits" },
    { title: "Mailu subnet overlaps the WireGuard network", changes: [{ key: "homemail:mailSubnet", value: "10.0.0.0/16" }], key: "homemail:wireguard.network", mentions: "overlaps homemail:mailSubnet" },
    { title: "home LAN overlaps the Mailu subnet", changes: [{ key: "homemail:home", value: { ...home(), lanCidr: "192.168.203.0/24" } }], key: "homemail:home.lanCidr", mentions: "overlaps homemail:mailSubnet" },
    { title: "spoke outside the WireGuard network", changes: [{ key: "homemail:wireguard", value: { ...wg(), spokeAddress: "10.0.2.2" } }], key: "homemail:wireguard.spokeAddress", mentions: "not a host address inside" },
    { title: "hub is the network address", changes: [{ key: "homemail:wireguard", value: { ...wg(), hubAddress: "10.0.1.0" } }], key: "homemail:wireguard.hubAddress", mentions: "not a host address inside" },
    { title: "WireGuard key epoch negative", changes: [{ key: "homemail:wireguard", value: { ...wg(), keyEpoch: -1 } }], key: "homemail:wireguard.keyEpoch", mentions: ">=0" },
    { title: "hub equals spoke", changes: [{ key: "homemail:wireguard", value: { ...wg(), hubAddress: "10.0.1.2" } }], key: "homemail:wireguard.spokeAddress", mentions: "equals" },
    { title: "WireGuard port out of range", changes: [{ key: "homemail:wireguard", value: { ...wg(), port: 70000 } }], key: "homemail:wireguard.port", mentions: "65535" },
    { title: "unknown field inside an object", changes: [{ key: "homemail:vps", value: { ...vps(), publicIP: "203.0.113.10" } }], key: "homemail:vps", mentions: 'unknown field(s) "publicIP"' },
    { title: "not a YAML object", changes: [{ key: "homemail:vps", value: "{not json" }], key: "homemail:vps", mentions: "structured value" },
    { title: "boolean spelled wrong", changes: [{ key: "homemail:exampleAddresses", value: "yes" }], key: "homemail:exampleAddresses", mentions: "true or false" },
    { title: "duplicate user", changes: [{ key: "homemail:users", value: [{ address: "user@example.com" }, { address: "User@Example.com" }] }], key: "homemail:users[1].address", mentions: "already defined" },
    { title: "user outside our domains", changes: [{ key: "homemail:users", value: [{ address: "user@example.org" }] }], key: "homemail:users[0].address", mentions: "not in a mail domain" },
    { title: "user address malformed", changes: [{ key: "homemail:users", value: [{ address: "user.example.com" }] }], key: "homemail:users[0].address", mentions: "not an e-mail address" },
    { title: "alias target that does not exist", changes: [{ key: "homemail:aliases", value: [{ address: "info@example.com", destinations: ["nobody@example.com"] }] }], key: "homemail:aliases[0].destinations[0]", mentions: "neither a user nor an alias" },
    { title: "alias that is also a user", changes: [{ key: "homemail:aliases", value: [{ address: "user@example.com", destinations: ["admin@example.com"] }] }], key: "homemail:aliases[0].address", mentions: "also a user" },
    { title: "SSH private key set in plain text", changes: [{ key: "homemail:vpsSshPrivateKey", value: "-----BEGIN OPENSSH PRIVATE KEY-----" }], key: "homemail:vpsSshPrivateKey", mentions: "--secret" },
    { title: "user passwords set in plain text", changes: [{ key: "homemail:userPasswords", value: { "user@example.com": "hunter2hunter2" } }], key: "homemail:userPasswords", mentions: "--secret" },
    { title: "password for an unknown user", changes: [{ key: "homemail:userPasswords", value: { "ghost@example.com": "x".repeat(20) }, secret: true }], key: 'homemail:userPasswords["ghost@example.com"]', mentions: "not in homemail:users" },
    { title: "Cloudflare credential in plain text", changes: [{ key: "cloudflare:apiToken", value: "abc" }], key: "cloudflare:apiToken", mentions: "--secret" },
    { title: "admin address in a foreign domain", changes: [{ key: "homemail:adminAddress", value: "root@elsewhere.org" }], key: "homemail:adminAddress", mentions: "not in a mail domain" },
    { title: "image pinned to latest", changes: [{ key: "homemail:images", value: { traefik: "latest" } }], key: "homemail:images.traefik", mentions: "not a pin" },
    { title: "Traefik 3.5.2 (wrong PROXY addresses)", changes: [{ key: "homemail:images", value: { traefik: "v3.5.2" } }], key: "homemail:images.traefik", mentions: "PROXY" },
    { title: "Mailu version without a patch release", changes: [{ key: "homemail:mailu", value: { version: "2024.06" } }], key: "homemail:mailu.version", mentions: "patch release" },
    { title: "webmail not one of the choices", changes: [{ key: "homemail:mailu", value: { webmail: "rainloop" } }], key: "homemail:mailu.webmail", mentions: "snappymail" },
    { title: "DMARC policy not one of the choices", changes: [{ key: "homemail:dmarc", value: { policy: "block" } }], key: "homemail:dmarc.policy", mentions: "quarantine" },
    { title: "DKIM selector not a DNS label", changes: [{ key: "homemail:dkimSelector", value: "dkim.2024" }], key: "homemail:dkimSelector", mentions: "DNS label" },
    { title: "mail host proxied through Cloudflare", changes: [{ key: "homemail:cloudflareProxiedHosts", value: ["mail.example.com"] }], key: "homemail:cloudflareProxiedHosts[0]", mentions: "grey cloud" },
    { title: "relative data root", changes: [{ key: "homemail:mailu", value: { dataRoot: "srv/mailu" } }], key: "homemail:mailu.dataRoot", mentions: "absolute path" },
    { title: "SSH on a gateway port", changes: [{ key: "homemail:vps", value: { ...vps(), sshPort: 443 } }], key: "homemail:vps.sshPort", mentions: "public mail/web port" },
    { title: "home without an SSH host", changes: [{ key: "homemail:home", value: { lanCidr: "192.168.1.0/24", wanIp: "198.51.100.20" } }], key: "homemail:home.sshHost", mentions: "required" },
];

/** Every case of every issue; issues add their arrays here. */
export const INVALID_CASES: InvalidCase[] = [...FOUNDATION_CASES, ...DNS_CASES, ...EGRESS_CASES, ...GATEWAY_CASES, ...WKD_CASES, ...MAILU_CASES];
