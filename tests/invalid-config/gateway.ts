/** Invalid configs of the VPS gateway's keys (issue 5): each is the dev stack with one thing wrong. */
import { devValue } from "../helpers/stack";
import type { InvalidCase } from "./cases";

const vps = () => devValue("homemail:vps");

export const GATEWAY_CASES: InvalidCase[] = [
    { title: "Traefik older than v3.6", changes: [{ key: "homemail:images", value: { traefik: "v3.4.5" } }], key: "homemail:images.traefik", mentions: "v3.6 or newer" },
    { title: "Traefik v2 tag", changes: [{ key: "homemail:images", value: { traefik: "v2.11.20" } }], key: "homemail:images.traefik", mentions: "v3.6 or newer" },
    { title: "Traefik tag without a patch release", changes: [{ key: "homemail:images", value: { traefik: "v3.7" } }], key: "homemail:images.traefik", mentions: "release tag" },
    { title: "HAProxy outside the 3.2 LTS line", changes: [{ key: "homemail:images", value: { haproxy: "3.3.14" } }], key: "homemail:images.haproxy", mentions: "3.2 LTS" },
    { title: "HAProxy image tag malformed", changes: [{ key: "homemail:images", value: { haproxy: "3.2 .1" } }], key: "homemail:images.haproxy", mentions: "not an image tag" },
    { title: "unknown image key", changes: [{ key: "homemail:images", value: { trafik: "v3.7.16" } }], key: "homemail:images", mentions: 'unknown field(s) "trafik"' },
    { title: "firewall switch not a boolean", changes: [{ key: "homemail:gateway", value: { firewall: "yes" } }], key: "homemail:gateway.firewall", mentions: "boolean" },
    { title: "unknown gateway field", changes: [{ key: "homemail:gateway", value: { firewal: false } }], key: "homemail:gateway", mentions: 'unknown field(s) "firewal"' },
    { title: "existing Traefik dir relative", changes: [{ key: "homemail:gateway", value: { existingTraefikDynamicDir: "traefik/dynamic" } }], key: "homemail:gateway.existingTraefikDynamicDir", mentions: "absolute path" },
    { title: "existing Traefik dir is homemail's own gateway dir", changes: [{ key: "homemail:gateway", value: { existingTraefikDynamicDir: "/opt/homemail/gateway/traefik/dynamic" } }], key: "homemail:gateway.existingTraefikDynamicDir", mentions: "homemail's own gateway directory" },
    { title: "existing Traefik dir with ..", changes: [{ key: "homemail:gateway", value: { existingTraefikDynamicDir: "/opt/traefik/../homemail" } }], key: "homemail:gateway.existingTraefikDynamicDir", mentions: "absolute path" },
    { title: "VPS IPv6 not an address", changes: [{ key: "homemail:vps", value: { ...vps(), publicIpv6: "2001:db8::zz" } }], key: "homemail:vps.publicIpv6", mentions: "not an IPv6 address" },
    { title: "VPS IPv6 given an IPv4 address", changes: [{ key: "homemail:vps", value: { ...vps(), publicIpv6: "203.0.113.10" } }], key: "homemail:vps.publicIpv6", mentions: "not an IPv6 address" },
    { title: "VPS IPv6 link-local", changes: [{ key: "homemail:vps", value: { ...vps(), publicIpv6: "fe80::1" } }], key: "homemail:vps.publicIpv6", mentions: "not a global unicast" },
    { title: "VPS IPv6 documentation address without the example flag", changes: [{ key: "homemail:exampleAddresses", value: undefined }, { key: "homemail:vps", value: { ...vps(), publicIpv6: "2001:db8::10" } }], key: "homemail:vps.publicIpv6", mentions: "documentation address" },
    { title: "VPS host key not a key", changes: [{ key: "homemail:vps", value: { ...vps(), sshHostKey: "SHA256:2f1wz3gLx0c8bPq8Q2yZ" } }], key: "homemail:vps.sshHostKey", mentions: "not one SSH public key" },
    { title: "VPS host key of an unknown type", changes: [{ key: "homemail:vps", value: { ...vps(), sshHostKey: "ssh-dss AAAAB3NzaC1kc3MAAACBAP" } }], key: "homemail:vps.sshHostKey", mentions: "key type" },
    { title: "VPS host key truncated", changes: [{ key: "homemail:vps", value: { ...vps(), sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKMNit+uUezTp1ku" } }], key: "homemail:vps.sshHostKey", mentions: "does not hold one" },
    { title: "home host key is a private key", changes: [{ key: "homemail:home", value: { ...devValue<Record<string, unknown>>("homemail:home"), sshHostKey: "-----BEGIN OPENSSH PRIVATE KEY-----" } }], key: "homemail:home.sshHostKey", mentions: "private key" },
];
