/**
 * Traefik v3 static (`traefik.yml`) and dynamic (`dynamic/homemail.yml`) configuration, from the
 * port table. Pure: no I/O, no clock; keys sorted, `\n`, trailing newline.
 *
 * What the blog post does that does not reach a host from here:
 * - no `api.insecure`: the dashboard is routed only on a loopback entrypoint;
 * - no HTTP/3 and no `443/udp`: TLS passthrough is TCP, QUIC would get Traefik's own 404;
 * - no Docker provider (no socket in the container): the file provider on a watched directory;
 * - PROXY v2 through a `tcp.serversTransports` entry, not the deprecated `loadBalancer.proxyProtocol`;
 * - no deprecated ACME keys (`delayBeforeCheck`), no TLS-ALPN resolver on a passthrough 443;
 * - `mta-sts.<domain>` is not in the mail host's passthrough: it is served by the WKD nginx.
 *
 * Timeouts: each entrypoint keeps Traefik's default `readTimeout` (60 s). Traefik clears that
 * deadline once a TCP router has picked the connection, so long IMAP IDLE sessions are not cut; it
 * only bounds a client that connects and never sends its ClientHello. `sieve` has one plain TCP
 * catch-all router and nothing else, so Traefik hands it over without reading first
 * (ManageSieve is server-first: the server greets).
 */
import { stringify } from "yaml";
import type { PortRow } from "../config/model";
import { wkdRoutes } from "./wkdSite";
import {
    CF_TOKEN_FILE,
    CONTAINER,
    GatewayModel,
    TRAEFIK_ADMIN_ENTRYPOINT,
    entrypointName,
    traefikRows,
} from "./gatewayLayout";

/** Certificate resolvers: http-01 on `web`, and Cloudflare dns-01 for the WKD/MTA-STS hosts. */
export const RESOLVER_HTTP = "acme-http";
export const RESOLVER_DNS = "cf-dns";
/** The one TCP servers transport: PROXY protocol v2 towards Mailu's front. */
export const PROXY_V2_TRANSPORT = "proxy-v2";
/** Env var lego reads the Cloudflare token from (the `_FILE` variant: the value never is in env). */
export const CF_TOKEN_ENV = "CF_DNS_API_TOKEN_FILE";
/** Also read by lego for the zone lookup; the same narrow token serves both. */
export const CF_ZONE_TOKEN_ENV = "CF_ZONE_API_TOKEN_FILE";

const HEADER = "# managed by homemail, do not edit\n";

function yaml(header: string, value: unknown): string {
    return `${HEADER}${header}${stringify(value, { sortMapEntries: true, lineWidth: 0, aliasDuplicateObjects: false })}`;
}

/** A Traefik rule literal; refuses anything that could break out of the backquotes. */
function lit(value: string): string {
    if (!/^[A-Za-z0-9.*/_-]+$/.test(value)) throw new Error(`refusing to put ${JSON.stringify(value)} into a Traefik rule`);
    return `\`${value}\``;
}

/** A name usable as a router/service key: lowercase letters, digits and dashes. */
function key(text: string): string {
    return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/** One entrypoint Traefik must have for homemail's routers (also reported for an existing Traefik). */
export interface TraefikEntrypoint {
    readonly name: string;
    /** `<address>:<port>`: `0.0.0.0` (every IPv4 address, never IPv6: the VPS firewall filters IPv4 only for these ports) or loopback. */
    readonly address: string;
    readonly port: number;
}

/**
 * Traefik's `:443` listens on IPv6 too (Go's dual-stack wildcard); the design is IPv4-only, so every
 * public entrypoint binds the IPv4 wildcard and nothing is reachable over IPv6 but SSH and WireGuard.
 */
const ALL_IPV4 = "0.0.0.0";

/** The entrypoints homemail's dynamic file refers to, in port order (port-table rows only). */
export function traefikEntrypoints(m: Pick<GatewayModel, "ports">): TraefikEntrypoint[] {
    return traefikRows(m).map((r) => ({ name: entrypointName(r), address: `${ALL_IPV4}:${r.publicPort}`, port: r.publicPort }));
}

/** The static configuration file. */
export function renderTraefikStatic(m: GatewayModel): string {
    const entryPoints: Record<string, unknown> = {};
    for (const row of traefikRows(m)) {
        const name = entrypointName(row);
        const ep: Record<string, unknown> = { address: `${ALL_IPV4}:${row.publicPort}` };
        switch (row.mode) {
            case "http":
                // Port 80 only carries ACME http-01 for Mailu's own certificates; everything else is
                // redirected. The redirect router has priority 1, so the ACME routers always win, and
                // allowACMEByPass lets the Mailu router answer challenges Traefik did not start itself.
                ep.asDefault = true;
                ep.allowACMEByPass = true;
                ep.http = { redirections: { entryPoint: { to: "web-secure", scheme: "https", permanent: true, priority: 1 } } };
                break;
            case "tls-passthrough":
                if (name === "web-secure") ep.asDefault = true;
                break;
            case "tcp":
                break;
            default: {
                const never: never = row.mode;
                throw new Error(`unknown port mode ${String(never)}`);
            }
        }
        entryPoints[name] = ep;
    }
    entryPoints[TRAEFIK_ADMIN_ENTRYPOINT.name] = { address: `${TRAEFIK_ADMIN_ENTRYPOINT.address}:${TRAEFIK_ADMIN_ENTRYPOINT.port}` };

    const acme = (storage: string) => ({ email: m.acmeEmail, storage: `${CONTAINER.traefikAcmeDir}/${storage}` });
    const config = {
        global: { checkNewVersion: false, sendAnonymousUsage: false },
        log: { level: "INFO" },
        accessLog: {},
        api: { dashboard: true },
        ping: { entryPoint: TRAEFIK_ADMIN_ENTRYPOINT.name },
        entryPoints,
        providers: { file: { directory: CONTAINER.traefikDynamicDir, watch: true } },
        certificatesResolvers: {
            [RESOLVER_HTTP]: { acme: { ...acme("acme-http.json"), httpChallenge: { entryPoint: "web" } } },
            [RESOLVER_DNS]: {
                acme: {
                    ...acme("cf-dns.json"),
                    // The token is read from ${CF_TOKEN_ENV} (a file in the mounted secrets dir).
                    dnsChallenge: { provider: "cloudflare", resolvers: ["1.1.1.1:53", "1.0.0.1:53"] },
                },
            },
        },
    };
    return yaml(
        `# Traefik v3 static configuration of the homemail VPS gateway. The Cloudflare token is read from\n# ${CONTAINER.secretsDir}/${CF_TOKEN_FILE} (${CF_TOKEN_ENV}); the dashboard is on ${TRAEFIK_ADMIN_ENTRYPOINT.address}:${TRAEFIK_ADMIN_ENTRYPOINT.port} only.\n`,
        config,
    );
}

export interface DynamicOptions {
    /** Route Traefik's API/dashboard on the loopback entrypoint (false for an existing Traefik). */
    readonly adminRouter: boolean;
}

/** The dynamic configuration file (homemail's routers, services and the PROXY v2 transport). */
export function renderTraefikDynamic(m: GatewayModel, opts: DynamicOptions): string {
    const home = m.addresses.wgSpoke;
    const httpRouters: Record<string, unknown> = {};
    const httpServices: Record<string, unknown> = {};
    const tcpRouters: Record<string, unknown> = {};
    const tcpServices: Record<string, unknown> = {};

    // Same hosts in any input order give the same bytes (the model already lists them sorted).
    const hosts = [...new Set(m.passthroughHosts)].sort();
    const tcpService = (row: PortRow) => ({
        loadBalancer: {
            servers: [{ address: `${home}:${row.homePort}` }],
            ...(row.proxyV2 ? { serversTransport: PROXY_V2_TRANSPORT } : {}),
        },
    });

    for (const row of traefikRows(m)) {
        const ep = entrypointName(row);
        const service = `mailu-${row.name}`;
        switch (row.mode) {
            case "http": {
                // ACME http-01 for the hosts whose TLS Mailu terminates (its keys stay home).
                httpRouters["mailu-acme"] = {
                    entryPoints: [ep],
                    rule: `PathPrefix(${lit("/.well-known/acme-challenge/")}) && (${hosts.map((h) => `Host(${lit(h)})`).join(" || ")})`,
                    priority: 1000,
                    service,
                };
                httpServices[service] = { loadBalancer: { servers: [{ url: `http://${home}:${row.homePort}` }] } };
                if (row.proxyV2) throw new Error(`port ${row.publicPort}: PROXY v2 on an HTTP router is not supported`);
                break;
            }
            case "tls-passthrough": {
                const sni = ep === "web-secure" ? hosts.map((h) => `HostSNI(${lit(h)})`).join(" || ") : `HostSNI(${lit("*")})`;
                tcpRouters[service] = { entryPoints: [ep], rule: sni, service, tls: { passthrough: true } };
                tcpServices[service] = tcpService(row);
                break;
            }
            case "tcp":
                tcpRouters[service] = { entryPoints: [ep], rule: `HostSNI(${lit("*")})`, service };
                tcpServices[service] = tcpService(row);
                break;
            default: {
                const never: never = row.mode;
                throw new Error(`unknown port mode ${String(never)}`);
            }
        }
    }

    // WKD (openpgpkey.<d>) and MTA-STS (mta-sts.<d>) are served by the WKD nginx on the VPS; Traefik
    // terminates TLS for them with dns-01 certificates. The site says where and for which hosts.
    const wkd = wkdRoutes(m);
    httpServices["wkd"] = { loadBalancer: { servers: [{ url: wkd.backendUrl }] } };
    for (const host of wkd.hosts) {
        httpRouters[`wkd-${key(host)}`] = {
            entryPoints: ["web-secure"],
            rule: `Host(${lit(host)})`,
            service: "wkd",
            tls: { certResolver: RESOLVER_DNS },
        };
    }
    if (opts.adminRouter) {
        httpRouters["traefik-api"] = {
            entryPoints: [TRAEFIK_ADMIN_ENTRYPOINT.name],
            rule: `PathPrefix(${lit("/")})`,
            service: "api@internal",
        };
    }

    const config = {
        http: { routers: httpRouters, services: httpServices },
        tcp: {
            routers: tcpRouters,
            services: tcpServices,
            serversTransports: { [PROXY_V2_TRANSPORT]: { proxyProtocol: { version: 2 } } },
        },
    };
    return yaml(
        `# homemail's Traefik routes: TLS passthrough and plain TCP to Mailu at ${home} (PROXY v2 via the\n# "${PROXY_V2_TRANSPORT}" servers transport), ACME http-01 to Mailu, WKD/MTA-STS to the local nginx.\n`,
        config,
    );
}
