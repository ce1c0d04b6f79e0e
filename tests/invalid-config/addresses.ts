/**
 * Addresses: public IPs, the home LAN, the WireGuard network, hub, spoke and endpoint, Mailu's
 * network, and the SSH targets. Overlaps name the key the user set.
 */
import type { InvalidCase } from "./cases";
import { devValue } from "../helpers/stack";

const vps = () => devValue("homemail:vps");
const home = () => devValue("homemail:home");
const wg = () => devValue("homemail:wireguard");
const endpoint = (endpointHost: string) => [{ key: "homemail:wireguard", value: { ...wg(), endpointHost } }];
const vpsSsh = (fields: Record<string, unknown>) => [{ key: "homemail:vps", value: { ...vps(), ...fields } }];
const homeSsh = (fields: Record<string, unknown>) => [{ key: "homemail:home", value: { ...home(), ...fields } }];
/** The dev stack without its explicit WireGuard and Mailu network, so both are defaults. */
const defaults = [{ key: "homemail:wireguard", value: undefined }, { key: "homemail:mailSubnet", value: undefined }];

export const ADDRESS_CASES: InvalidCase[] = [
    { title: "VPS IP not an address", changes: vpsSsh({ publicIp: "203.0.113.300" }), key: "homemail:vps.publicIp", mentions: "not an IPv4 address" },
    { title: "VPS IP private", changes: vpsSsh({ publicIp: "192.168.1.5" }), key: "homemail:vps.publicIp", mentions: "not a public unicast" },
    { title: "VPS IP loopback", changes: vpsSsh({ publicIp: "127.0.0.1" }), key: "homemail:vps.publicIp", mentions: "loopback" },
    { title: "VPS IP missing", changes: [{ key: "homemail:vps", value: { wanInterface: "eth0" } }], key: "homemail:vps.publicIp", mentions: "is required but not set" },
    { title: "TEST-NET VPS IP without the example flag", changes: [{ key: "homemail:exampleAddresses", value: undefined }], key: "homemail:vps.publicIp", mentions: "homemail:exampleAddresses" },
    { title: "IPv6 VPS address refused", changes: vpsSsh({ publicIp: "2001:db8::10" }), key: "homemail:vps.publicIp", mentions: "IPv4 only" },
    { title: "home WAN IP equals the VPS IP", changes: homeSsh({ wanIp: "203.0.113.10" }), key: "homemail:home.wanIp", mentions: "different hosts" },
    { title: "home WAN IP private", changes: homeSsh({ wanIp: "10.1.2.3" }), key: "homemail:home.wanIp", mentions: "not a public unicast" },
    { title: "VPS interface name with a space", changes: vpsSsh({ wanInterface: "eth 0" }), key: "homemail:vps.wanInterface", mentions: "not a network interface name" },
    { title: "missing vps block", changes: [{ key: "homemail:vps", value: undefined }], key: "homemail:vps", mentions: "required" },
    { title: "home LAN not private", changes: homeSsh({ lanCidr: "8.8.8.0/24" }), key: "homemail:home.lanCidr", mentions: "not a private" },
    { title: "home LAN not a CIDR", changes: homeSsh({ lanCidr: "192.168.1.0" }), key: "homemail:home.lanCidr", mentions: "not a CIDR" },
    { title: "IPv6 Mailu subnet refused", changes: [{ key: "homemail:mailSubnet", value: "fd00:203::/64" }], key: "homemail:mailSubnet", mentions: "IPv4 only" },
    { title: "IPv6 switch refused", changes: [{ key: "homemail:ipv6", value: "true" }], key: "homemail:ipv6", mentions: "not supported" },
    { title: "CIDR with host bits", changes: [{ key: "homemail:mailSubnet", value: "192.168.203.7/24" }], key: "homemail:mailSubnet", mentions: "host bits" },
    { title: "Mailu subnet overlaps the WireGuard network (both set: the Mailu network moves)", changes: [{ key: "homemail:mailSubnet", value: "10.0.0.0/16" }], key: "homemail:mailSubnet", mentions: /overlaps the WireGuard network, homemail:wireguard\.network \(10\.0\.1\.0\/24\).*e\.g\. 192\.168\.203\.0\/24/ },
    { title: "Mailu subnet over the default WireGuard network: the default is not blamed", changes: [...defaults, { key: "homemail:mailSubnet", value: "10.0.0.0/16" }], key: "homemail:mailSubnet", mentions: /the default 10\.0\.1\.0\/24 \(homemail:wireguard\.network is not set\)/ },
    { title: "WireGuard network over the default Mailu network", changes: [...defaults, { key: "homemail:wireguard", value: { network: "192.168.0.0/16" } }], key: "homemail:wireguard.network", mentions: /the default 192\.168\.203\.0\/24 .*e\.g\. 10\.0\.1\.0\/24/ },
    { title: "home LAN overlaps the Mailu subnet (the Mailu network moves, the LAN is a fact)", changes: homeSsh({ lanCidr: "192.168.203.0/24" }), key: "homemail:mailSubnet", mentions: /overlaps the home LAN.*e\.g\. 192\.168\.213\.0\/24/ },
    { title: "home LAN over the default Mailu network: the LAN line, the fix moves the Mailu network", changes: [...defaults, ...homeSsh({ lanCidr: "192.168.203.0/24" })], key: "homemail:home.lanCidr", mentions: /Fix: set homemail:mailSubnet to a range that overlaps nothing else, e\.g\. 192\.168\.213\.0\/24/ },
    { title: "home LAN overlaps the WireGuard network", changes: homeSsh({ lanCidr: "10.0.0.0/16" }), key: "homemail:wireguard.network", mentions: "overlaps the home LAN" },
    { title: "Mailu subnet inside docker0's network", changes: [{ key: "homemail:mailSubnet", value: "172.17.5.0/24" }], key: "homemail:mailSubnet", mentions: "docker0" },
    { title: "Mailu subnet around docker0's network", changes: [{ key: "homemail:mailSubnet", value: "172.16.0.0/12" }], key: "homemail:mailSubnet", mentions: "/16 to /28" },
    { title: "Mailu subnet too small for its containers", changes: [{ key: "homemail:mailSubnet", value: "192.168.203.0/29" }], key: "homemail:mailSubnet", mentions: "/16 to /28" },
    { title: "Mailu subnet public", changes: [{ key: "homemail:mailSubnet", value: "8.8.8.0/24" }], key: "homemail:mailSubnet", mentions: "private (RFC 1918)" },
    { title: "WireGuard network too small", changes: [{ key: "homemail:wireguard", value: { ...wg(), network: "10.0.1.0/31" } }], key: "homemail:wireguard.network", mentions: "/30 or larger" },
    { title: "spoke outside the WireGuard network", changes: [{ key: "homemail:wireguard", value: { ...wg(), spokeAddress: "10.0.2.2" } }], key: "homemail:wireguard.spokeAddress", mentions: "not a host address inside" },
    { title: "hub is the network address", changes: [{ key: "homemail:wireguard", value: { ...wg(), hubAddress: "10.0.1.0" } }], key: "homemail:wireguard.hubAddress", mentions: "not a host address inside" },
    { title: "hub is the broadcast address", changes: [{ key: "homemail:wireguard", value: { ...wg(), hubAddress: "10.0.1.255" } }], key: "homemail:wireguard.hubAddress", mentions: "not a host address inside" },
    { title: "WireGuard key epoch negative", changes: [{ key: "homemail:wireguard", value: { ...wg(), keyEpoch: -1 } }], key: "homemail:wireguard.keyEpoch", mentions: ">=0" },
    { title: "WireGuard key epoch not a whole number", changes: [{ key: "homemail:wireguard", value: { ...wg(), keyEpoch: 1.5 } }], key: "homemail:wireguard.keyEpoch", mentions: "int" },
    { title: "hub equals spoke", changes: [{ key: "homemail:wireguard", value: { ...wg(), hubAddress: "10.0.1.2" } }], key: "homemail:wireguard.spokeAddress", mentions: "equals" },
    { title: "hub set onto the default spoke: the hub is named", changes: [{ key: "homemail:wireguard", value: { hubAddress: "10.0.1.2" } }], key: "homemail:wireguard.hubAddress", mentions: "the default 10.0.1.2 (homemail:wireguard.spokeAddress is not set)" },
    { title: "WireGuard port out of range", changes: [{ key: "homemail:wireguard", value: { ...wg(), port: 70000 } }], key: "homemail:wireguard.port", mentions: "65535" },
    { title: "WireGuard MTU below IPv6's minimum", changes: [{ key: "homemail:wireguard", value: { ...wg(), mtu: 1000 } }], key: "homemail:wireguard.mtu", mentions: "1280" },
    { title: "WireGuard keepalive too long", changes: [{ key: "homemail:wireguard", value: { ...wg(), keepaliveSeconds: 3600 } }], key: "homemail:wireguard.keepaliveSeconds", mentions: "600" },
    { title: "endpoint with a newline and a PostUp hook", changes: endpoint("vps.example.net\nPostUp = touch /tmp/pwned"), key: "homemail:wireguard.endpointHost", mentions: "U+000A" },
    { title: "endpoint with a carriage return", changes: endpoint("vps.example.net\r[Interface]"), key: "homemail:wireguard.endpointHost", mentions: "U+000D" },
    { title: "endpoint with a port", changes: endpoint("a:51999"), key: "homemail:wireguard.endpointHost", mentions: "not a hostname or an IPv4 address" },
    { title: "endpoint with a comment sign", changes: endpoint("vps.example.net#x"), key: "homemail:wireguard.endpointHost", mentions: "not a hostname or an IPv4 address" },
    { title: "endpoint with a bracket", changes: endpoint("[Peer]"), key: "homemail:wireguard.endpointHost", mentions: "not a hostname or an IPv4 address" },
    { title: "endpoint with an equals sign", changes: endpoint("PostUp=id"), key: "homemail:wireguard.endpointHost", mentions: "not a hostname or an IPv4 address" },
    { title: "endpoint with a space", changes: endpoint("vps example.net"), key: "homemail:wireguard.endpointHost", mentions: "not a hostname or an IPv4 address" },
    { title: "endpoint as an IPv6 literal", changes: endpoint("[2001:db8::1]"), key: "homemail:wireguard.endpointHost", mentions: "not a hostname or an IPv4 address" },
    { title: "endpoint with a shell substitution", changes: endpoint("$(id).example.net"), key: "homemail:wireguard.endpointHost", mentions: "not a hostname or an IPv4 address" },
    { title: "SSH on a gateway port", changes: vpsSsh({ sshPort: 443 }), key: "homemail:vps.sshPort", mentions: "public mail/web port" },
    { title: "SSH port 0", changes: vpsSsh({ sshPort: 0 }), key: "homemail:vps.sshPort", mentions: ">=1" },
    { title: "home without an SSH host", changes: [{ key: "homemail:home", value: { lanCidr: "192.168.1.0/24", wanIp: "198.51.100.20" } }], key: "homemail:home.sshHost", mentions: "required" },
    { title: "VPS SSH host as an ssh option", changes: vpsSsh({ sshHost: "-oProxyCommand=touch /tmp/pwned" }), key: "homemail:vps.sshHost", mentions: "not a hostname, an IPv4 address or a bracketed IPv6" },
    { title: "VPS SSH host as a URL", changes: vpsSsh({ sshHost: "ssh://vps.example.net" }), key: "homemail:vps.sshHost", mentions: "not a hostname" },
    { title: "VPS SSH host with a user part", changes: vpsSsh({ sshHost: "root@vps.example.net" }), key: "homemail:vps.sshHost", mentions: "not a hostname" },
    { title: "VPS SSH host with a port", changes: vpsSsh({ sshHost: "vps.example.net:2222" }), key: "homemail:vps.sshHost", mentions: "not a hostname" },
    { title: "home SSH host with a space", changes: homeSsh({ sshHost: "nas local" }), key: "homemail:home.sshHost", mentions: "not a hostname" },
    { title: "home SSH host as a bare IPv6 literal", changes: homeSsh({ sshHost: "fd00::10" }), key: "homemail:home.sshHost", mentions: "bracketed IPv6" },
    { title: "home SSH host with a bad bracketed IPv6", changes: homeSsh({ sshHost: "[fd00::zz]" }), key: "homemail:home.sshHost", mentions: "bracketed IPv6" },
    { title: "home SSH host ending in a dot", changes: homeSsh({ sshHost: "nas." }), key: "homemail:home.sshHost", mentions: "not a hostname" },
    { title: "VPS SSH user as an option", changes: vpsSsh({ sshUser: "-oProxyCommand=x" }), key: "homemail:vps.sshUser", mentions: "not a user name" },
    { title: "VPS SSH user with a space", changes: vpsSsh({ sshUser: "deploy user" }), key: "homemail:vps.sshUser", mentions: "not a user name" },
    { title: "home SSH user with an at sign", changes: homeSsh({ sshUser: "root@nas" }), key: "homemail:home.sshUser", mentions: "not a user name" },
    { title: "home SSH user upper case", changes: homeSsh({ sshUser: "Admin" }), key: "homemail:home.sshUser", mentions: "not a user name" },
    { title: "home SSH user starting with a digit", changes: homeSsh({ sshUser: "1admin" }), key: "homemail:home.sshUser", mentions: "not a user name" },
    { title: "home SSH user longer than 32", changes: homeSsh({ sshUser: "a".repeat(33) }), key: "homemail:home.sshUser", mentions: "not a user name" },
    { title: "VPS IPv6 not an address", changes: vpsSsh({ publicIpv6: "2001:db8::zz" }), key: "homemail:vps.publicIpv6", mentions: "not an IPv6 address" },
    { title: "VPS IPv6 given an IPv4 address", changes: vpsSsh({ publicIpv6: "203.0.113.10" }), key: "homemail:vps.publicIpv6", mentions: "not an IPv6 address" },
    { title: "VPS IPv6 link-local", changes: vpsSsh({ publicIpv6: "fe80::1" }), key: "homemail:vps.publicIpv6", mentions: "not a global unicast" },
    { title: "VPS IPv6 documentation address without the example flag", changes: [{ key: "homemail:exampleAddresses", value: undefined }, ...vpsSsh({ publicIpv6: "2001:db8::10" })], key: "homemail:vps.publicIpv6", mentions: "documentation address" },
    { title: "VPS host key not a key", changes: vpsSsh({ sshHostKey: "SHA256:2f1wz3gLx0c8bPq8Q2yZ" }), key: "homemail:vps.sshHostKey", mentions: "not one SSH public key" },
    { title: "VPS host key of an unknown type", changes: vpsSsh({ sshHostKey: "ssh-dss AAAAB3NzaC1kc3MAAACBAP" }), key: "homemail:vps.sshHostKey", mentions: "key type" },
    { title: "VPS host key truncated", changes: vpsSsh({ sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKMNit+uUezTp1ku" }), key: "homemail:vps.sshHostKey", mentions: "does not hold one" },
    { title: "home host key is a private key", changes: [{ key: "homemail:home", value: { ...home(), sshHostKey: "-----BEGIN OPENSSH PRIVATE KEY-----" } }], key: "homemail:home.sshHostKey", mentions: "private key" },
];
