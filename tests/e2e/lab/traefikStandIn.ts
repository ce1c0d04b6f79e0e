/**
 * Traefik cannot run here (no binary in the registries), so nginx plays the part it has for HTTPS
 * routes that terminate TLS on the VPS (WKD, MTA-STS): the routes come from the RENDERED Traefik
 * files (entrypoint addresses from the static file, HTTP routers with `tls` and their services from
 * the dynamic file), certificates from the lab CA instead of Let's Encrypt. Passthrough and plain
 * TCP routers are not played: mail on 25 goes through HAProxy, which runs for real.
 */
import { mkdirSync } from "node:fs";
import { parse } from "yaml";
import { Host } from "../../lab/harness";
import { LabCa } from "./labCa";
import { startLabNginx } from "./nginx";
import { waitListening } from "./listening";
import type { LoggedProcess } from "./logged";

interface TraefikStatic {
    readonly entryPoints: Record<string, { readonly address: string }>;
}

interface TraefikDynamic {
    readonly http?: {
        readonly routers?: Record<string, { entryPoints: string[]; rule: string; service: string; tls?: unknown }>;
        readonly services?: Record<string, { loadBalancer: { servers: { url: string }[] } }>;
    };
}

export interface HttpsRoute {
    readonly router: string;
    /** nginx `listen` argument of the router's entrypoint (`443`, `127.0.0.1:8443`). */
    readonly listen: string;
    readonly hosts: readonly string[];
    readonly upstream: string;
}

/** The TLS-terminating HTTP routers of the rendered Traefik files. */
export function httpsRoutes(staticYaml: string, dynamicYaml: string): HttpsRoute[] {
    const st = parse(staticYaml) as TraefikStatic;
    const dyn = parse(dynamicYaml) as TraefikDynamic;
    const routes: HttpsRoute[] = [];
    for (const [router, r] of Object.entries(dyn.http?.routers ?? {})) {
        if (!r.tls) continue;
        const hosts = [...r.rule.matchAll(/Host\(`([^`]+)`\)/g)].map((m) => m[1]);
        if (hosts.length === 0 || r.rule.replace(/Host\(`[^`]+`\)/g, "").replace(/[\s|()]/g, "") !== "") {
            throw new Error(`Traefik router ${router}: the lab stand-in plays Host(...) rules only, not ${r.rule}`);
        }
        const upstream = dyn.http?.services?.[r.service]?.loadBalancer.servers[0]?.url;
        if (!upstream) throw new Error(`Traefik router ${router}: service ${r.service} has no server url`);
        for (const ep of r.entryPoints) {
            const address = st.entryPoints[ep]?.address;
            if (!address) throw new Error(`Traefik router ${router}: no entrypoint ${ep} in the static file`);
            routes.push({ router, listen: address.startsWith(":") ? address.slice(1) : address, hosts, upstream });
        }
    }
    return routes;
}

/** Starts nginx serving `routes` with lab-CA certificates; returns once it listens. */
export function startTraefikStandIn(host: Host, dir: string, routes: readonly HttpsRoute[], ca: LabCa): LoggedProcess {
    mkdirSync(dir, { recursive: true });
    const servers = routes.flatMap((r) => {
        const cert = ca.issue(r.hosts);
        return [
            `    # Traefik router ${r.router}`,
            "    server {",
            `        listen ${r.listen} ssl;`,
            `        server_name ${r.hosts.join(" ")};`,
            `        ssl_certificate ${cert.certFile};`,
            `        ssl_certificate_key ${cert.keyFile};`,
            "        location / {",
            `            proxy_pass ${r.upstream};`,
            "            proxy_http_version 1.1;",
            // Traefik passes the client's Host header on (passHostHeader defaults to true).
            "            proxy_set_header Host $host;",
            "        }",
            "    }",
        ];
    });
    const nginx = startLabNginx(host, dir, servers);
    for (const port of new Set(routes.map((r) => Number(r.listen.split(":").pop())))) {
        waitListening(host, port, "the Traefik stand-in (nginx)", nginx.log);
    }
    return nginx;
}
