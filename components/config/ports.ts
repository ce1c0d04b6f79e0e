/**
 * The one public port table. Traefik entrypoints/routers, HAProxy, Mailu PORTS/PROXY_PROTOCOL, Mailu's
 * published ports, the VPS firewall and DNS SRV records are all derived from these rows; nothing else
 * lists ports.
 */
import type { NotOfferedPort, PortRow } from "./model";

/**
 * Offered ports. PROXY v2 is sent on every port whose stream reaches Mailu's front as raw TCP, so that
 * Mailu logs and rate-limits by the real client address; port 80 is an HTTP router (X-Forwarded-For)
 * and carries only ACME http-01 challenges.
 */
export const PORT_TABLE: readonly PortRow[] = Object.freeze([
    {
        name: "smtp",
        publicPort: 25,
        protocol: "tcp",
        process: "haproxy",
        mode: "tcp",
        proxyV2: true,
        homePort: 25,
        description: "SMTP from other MTAs (server-first: HAProxy, not Traefik)",
    },
    {
        name: "http",
        publicPort: 80,
        protocol: "tcp",
        process: "traefik",
        mode: "http",
        proxyV2: false,
        homePort: 80,
        description: "ACME http-01 for Mailu's own certificates; everything else redirects to https",
    },
    {
        name: "https",
        publicPort: 443,
        protocol: "tcp",
        process: "traefik",
        mode: "tls-passthrough",
        proxyV2: true,
        homePort: 443,
        srv: "_autodiscover._tcp",
        description: "Webmail, admin, autoconfig/autodiscover (TLS passthrough by SNI)",
    },
    {
        name: "submissions",
        publicPort: 465,
        protocol: "tcp",
        process: "traefik",
        mode: "tls-passthrough",
        proxyV2: true,
        homePort: 465,
        srv: "_submissions._tcp",
        description: "Mail submission over implicit TLS",
    },
    {
        name: "imaps",
        publicPort: 993,
        protocol: "tcp",
        process: "traefik",
        mode: "tls-passthrough",
        proxyV2: true,
        homePort: 993,
        srv: "_imaps._tcp",
        description: "IMAP over implicit TLS",
    },
    {
        name: "pop3s",
        publicPort: 995,
        protocol: "tcp",
        process: "traefik",
        mode: "tls-passthrough",
        proxyV2: true,
        homePort: 995,
        srv: "_pop3s._tcp",
        description: "POP3 over implicit TLS",
    },
    {
        name: "sieve",
        publicPort: 4190,
        protocol: "tcp",
        process: "traefik",
        mode: "tcp",
        proxyV2: true,
        homePort: 4190,
        description: "ManageSieve (STARTTLS inside, so plain TCP at the gateway)",
    },
].map((row) => Object.freeze(row as PortRow)));

/** Mail ports not offered: cleartext-first variants superseded by implicit TLS (RFC 8314). */
export const NOT_OFFERED: readonly NotOfferedPort[] = Object.freeze([
    { name: "pop3", port: 110, srv: "_pop3._tcp", reason: "cleartext POP3; use POP3S on 995 (RFC 8314)" },
    { name: "imap", port: 143, srv: "_imap._tcp", reason: "cleartext IMAP; use IMAPS on 993 (RFC 8314)" },
    {
        name: "submission",
        port: 587,
        srv: "_submission._tcp",
        reason: "STARTTLS submission; use implicit TLS on 465 (RFC 8314)",
    },
].map((row) => Object.freeze(row as NotOfferedPort)));

export function proxyV2Ports(table: readonly PortRow[]): number[] {
    return table.filter((r) => r.proxyV2).map((r) => r.publicPort).sort((a, b) => a - b);
}
