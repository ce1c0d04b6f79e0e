/**
 * Traefik's TCP routers (TLS passthrough by SNI, plain TCP catch-alls), played by HAProxy from the
 * RENDERED Traefik files, as traefikStandIn.ts plays the HTTP routers with nginx: each entrypoint
 * with TCP routers becomes a frontend; `HostSNI(a) || HostSNI(b)` routes by `req.ssl_sni`,
 * `HostSNI(*)` takes everything; a service's servers transport with `proxyProtocol.version: 2` is
 * `send-proxy-v2`. Where the same entrypoint also has TLS-terminating HTTP routers, Traefik hands
 * the other SNIs to them: here the nginx stand-in moves to a loopback port and HAProxy's default
 * backend is that port.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { Host } from "../../lab/harness";
import { waitListening } from "./listening";
import { LoggedProcess, spawnLogged } from "./logged";
import { HttpsRoute } from "./traefikStandIn";

interface TraefikStatic {
    readonly entryPoints: Record<string, { readonly address: string }>;
}

interface TraefikDynamic {
    readonly tcp?: {
        readonly routers?: Record<string, { entryPoints: string[]; rule: string; service: string; tls?: { passthrough?: boolean } }>;
        readonly services?: Record<string, { loadBalancer: { servers: { address: string }[]; serversTransport?: string } }>;
        readonly serversTransports?: Record<string, { proxyProtocol?: { version?: number } }>;
    };
}

export interface TcpRoute {
    readonly router: string;
    readonly entryPoint: string;
    /** `0.0.0.0:993`. */
    readonly bind: string;
    /** HostSNI names; empty for `HostSNI(*)`. */
    readonly sni: readonly string[];
    readonly server: string;
    readonly proxyVersion?: 1 | 2;
}

/** The TCP routers of the rendered Traefik files. */
export function tcpRoutes(staticYaml: string, dynamicYaml: string): TcpRoute[] {
    const st = parse(staticYaml) as TraefikStatic;
    const tcp = (parse(dynamicYaml) as TraefikDynamic).tcp;
    return Object.entries(tcp?.routers ?? {}).flatMap(([router, r]) => {
        const sni = [...r.rule.matchAll(/HostSNI\(`([^`]+)`\)/g)].map((m) => m[1]);
        if (sni.length === 0 || r.rule.replace(/HostSNI\(`[^`]+`\)/g, "").replace(/[\s|()]/g, "") !== "" || (sni.includes("*") && sni.length > 1)) {
            throw new Error(`Traefik TCP router ${router}: the lab stand-in plays HostSNI(...) rules only, not ${r.rule}`);
        }
        const lb = tcp?.services?.[r.service]?.loadBalancer;
        const server = lb?.servers[0]?.address;
        if (!lb || !server) throw new Error(`Traefik TCP router ${router}: service ${r.service} has no server address`);
        const version = lb.serversTransport ? tcp?.serversTransports?.[lb.serversTransport]?.proxyProtocol?.version : undefined;
        if (lb.serversTransport && !tcp?.serversTransports?.[lb.serversTransport]) throw new Error(`Traefik TCP service ${r.service}: no serversTransport ${lb.serversTransport}`);
        return r.entryPoints.map((ep): TcpRoute => {
            const address = st.entryPoints[ep]?.address;
            if (!address) throw new Error(`Traefik TCP router ${router}: no entrypoint ${ep} in the static file`);
            return { router, entryPoint: ep, bind: address.startsWith(":") ? `0.0.0.0${address}` : address, sni: sni.includes("*") ? [] : sni, server, ...(version === 1 || version === 2 ? { proxyVersion: version } : {}) };
        });
    });
}

/** Loopback port the nginx stand-in takes for an entrypoint HAProxy now binds: a lab-only choice. */
const behind = (port: number) => `127.0.0.1:${port + 10000}`;

/** The HTTP routes with those on a TCP router's entrypoint moved behind HAProxy (to loopback). */
export function behindTcpRouters(routes: readonly HttpsRoute[], tcp: readonly TcpRoute[]): HttpsRoute[] {
    const taken = new Set(tcp.map((t) => Number(t.bind.split(":").pop())));
    return routes.map((r) => {
        const port = Number(r.listen.split(":").pop());
        return taken.has(port) ? { ...r, listen: behind(port) } : r;
    });
}

/** Starts HAProxy playing `tcp`; returns once it listens on every entrypoint. */
export function startTraefikTcpStandIn(host: Host, dir: string, tcp: readonly TcpRoute[], http: readonly HttpsRoute[]): LoggedProcess {
    mkdirSync(dir, { recursive: true });
    const send = (t: TcpRoute) => (t.proxyVersion === 2 ? " send-proxy-v2" : t.proxyVersion === 1 ? " send-proxy" : "");
    const lines = ["global", "    maxconn 256", "defaults", "    mode tcp", "    timeout connect 5s", "    timeout client 60s", "    timeout server 60s"];
    const entryPoints = [...new Set(tcp.map((t) => t.entryPoint))];
    for (const ep of entryPoints) {
        const routes = tcp.filter((t) => t.entryPoint === ep);
        const port = Number(routes[0].bind.split(":").pop());
        const bySni = routes.filter((t) => t.sni.length > 0);
        const catchAll = routes.find((t) => t.sni.length === 0);
        const httpBehind = http.some((r) => r.listen === behind(port));
        lines.push(`frontend ep-${ep}`, `    bind ${routes[0].bind}`);
        if (bySni.length > 0) {
            // Traefik reads the ClientHello to route by SNI.
            lines.push("    tcp-request inspect-delay 5s", "    tcp-request content accept if { req.ssl_hello_type 1 }");
            for (const t of bySni) lines.push(`    use_backend ${t.router} if { req.ssl_sni -i ${t.sni.join(" ")} }`);
        }
        if (catchAll) lines.push(`    default_backend ${catchAll.router}`);
        else if (httpBehind) lines.push(`    default_backend http-routers-${ep}`, `backend http-routers-${ep}`, `    server nginx ${behind(port)}`);
    }
    for (const t of tcp) lines.push(`backend ${t.router}`, `    server home ${t.server}${send(t)}`);
    const file = path.join(dir, "haproxy.cfg");
    writeFileSync(file, `${lines.join("\n")}\n`);
    host.run(["haproxy", "-c", "-q", "-f", file]);
    const haproxy = spawnLogged(host, ["haproxy", "-W", "-db", "-f", file], path.join(dir, "haproxy.log"));
    for (const t of tcp) waitListening(host, Number(t.bind.split(":").pop()), "the Traefik TCP stand-in (HAProxy)", haproxy.log);
    return haproxy;
}
