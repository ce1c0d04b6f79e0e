/**
 * The gateway renderers: what reaches the VPS follows the port table, sends PROXY v2 exactly where
 * the model says, keeps TLS keys at home, and carries none of the blog post's broken or deprecated
 * settings.
 */
import { parseModel } from "../../components/config";
import { gatewayCommands, renderCfTokenFile, renderFirewall } from "../../components/render/gateway";
import { CF_TOKEN_PATH, TRAEFIK_ADMIN_ENTRYPOINT, pinnedImage } from "../../components/render/gatewayLayout";
import { placeholdersIn } from "../../components/render/hostFile";
import { devModel, withConfig } from "../helpers/stack";
import { parseGateway, portOf, TEST_IMAGES } from "../helpers/gateway";

const model = devModel();
const gw = parseGateway(model);
const S = gw.traefikStatic;
const D = gw.traefikDynamic;
const home = model.addresses.wgSpoke;

/** Every key path in a parsed YAML document, dotted. */
function keyPaths(v: unknown, prefix = ""): string[] {
    if (Array.isArray(v)) return v.flatMap((x, i) => keyPaths(x, `${prefix}[${i}]`));
    if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => [`${prefix}${k}`, ...keyPaths(x, `${prefix}${k}.`)]);
    return [];
}

/** Public entrypoints (the loopback admin one is not a public port). */
const publicEntrypoints = () =>
    Object.entries(S.entryPoints as Record<string, { address: string }>).filter(([name]) => name !== TRAEFIK_ADMIN_ENTRYPOINT.name);

describe("port table invariants across Traefik, HAProxy and the firewall", () => {
    it("maps every Traefik entrypoint and HAProxy frontend to exactly one port-table row, of the right process", () => {
        const traefikPorts = publicEntrypoints().map(([, ep]) => portOf(ep.address));
        const haproxyPorts = [...gw.haproxy.frontends.values()].flat();
        for (const p of traefikPorts) expect(model.ports.filter((r) => r.publicPort === p && r.process === "traefik")).toHaveLength(1);
        for (const p of haproxyPorts) expect(model.ports.filter((r) => r.publicPort === p && r.process === "haproxy")).toHaveLength(1);
        // ...and every row is served by someone.
        expect([...traefikPorts, ...haproxyPorts].sort((a, b) => a - b)).toEqual(model.ports.map((r) => r.publicPort).sort((a, b) => a - b));
    });

    it("sends every backend to the home WireGuard address at the row's home port", () => {
        const backends: { port: number; address: string }[] = [];
        for (const svc of Object.values(D.tcp.services as Record<string, { loadBalancer: { servers: { address: string }[] } }>)) {
            for (const s of svc.loadBalancer.servers) backends.push({ port: portOf(s.address), address: s.address });
        }
        for (const s of gw.haproxy.servers) backends.push({ port: portOf(s.address), address: s.address });
        const mailuHttp = D.http.services["mailu-http"].loadBalancer.servers;
        for (const s of mailuHttp) backends.push({ port: portOf(s.url), address: s.url.replace("http://", "") });
        for (const b of backends) {
            expect(b.address.startsWith(`${home}:`)).toBe(true);
            expect(model.ports.some((r) => r.homePort === b.port)).toBe(true);
        }
        expect(new Set(backends.map((b) => b.port))).toEqual(new Set(model.ports.map((r) => r.homePort)));
    });

    it("sends PROXY v2 on exactly the model's set of ports", () => {
        const routers = D.tcp.routers as Record<string, { entryPoints: string[]; service: string }>;
        const services = D.tcp.services as Record<string, { loadBalancer: { serversTransport?: string } }>;
        const transports = D.tcp.serversTransports as Record<string, { proxyProtocol?: { version: number } }>;
        const sent = new Set<number>();
        for (const r of Object.values(routers)) {
            const transport = services[r.service].loadBalancer.serversTransport;
            if (transport && transports[transport]?.proxyProtocol?.version === 2) {
                for (const ep of r.entryPoints) sent.add(portOf(S.entryPoints[ep].address));
            }
        }
        for (const s of gw.haproxy.servers) {
            if (s.options.includes("send-proxy-v2")) for (const [, ports] of gw.haproxy.frontends) ports.forEach((p) => sent.add(p));
        }
        expect([...sent].sort((a, b) => a - b)).toEqual([...model.proxyV2Ports]);
    });

    it("binds no port twice (public entrypoints, HAProxy, Traefik admin, WKD nginx)", () => {
        const bound = [
            ...publicEntrypoints().map(([, ep]) => portOf(ep.address)),
            ...[...gw.haproxy.frontends.values()].flat(),
            TRAEFIK_ADMIN_ENTRYPOINT.port,
            model.addresses.wkdListen.port,
        ];
        expect(new Set(bound).size).toBe(bound.length);
    });

    it("opens exactly the port table, SSH and the WireGuard port in the firewall", () => {
        const env = renderFirewall(model, "#!/bin/sh\n").find((f) => f.path.endsWith(".env"))!.content;
        const value = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(env)![1];
        const tcp = value("HOMEMAIL_FW_TCP_PORTS").split(",").map(Number);
        expect(new Set(tcp)).toEqual(new Set([model.vps.ssh.port, ...model.ports.map((r) => r.publicPort)]));
        expect(value("HOMEMAIL_FW_UDP_PORTS")).toBe(String(model.addresses.wgPort));
        expect(value("HOMEMAIL_FW_SSH_PORT")).toBe(String(model.vps.ssh.port));
        // A changed SSH port moves with the config.
        const other = parseModel(withConfig([{ key: "homemail:vps", value: { publicIp: "203.0.113.10", sshPort: 2222 } }]));
        expect(renderFirewall(other, "").find((f) => f.path.endsWith(".env"))!.content).toMatch(/^HOMEMAIL_FW_TCP_PORTS=.*\b2222\b/m);
    });
});

describe("Traefik static configuration", () => {
    it("carries none of the post's broken or deprecated settings", () => {
        const paths = keyPaths(S);
        expect(S.api?.insecure).toBeUndefined();
        expect(paths.filter((p) => /(^|\.)http3$/.test(p))).toEqual([]);
        expect(paths.filter((p) => /experimental|delayBeforeCheck|disablePropagationCheck|tlsChallenge/.test(p))).toEqual([]);
        expect(Object.keys(S.providers)).toEqual(["file"]);
        expect(S.providers.file).toEqual({ directory: expect.stringMatching(/^\/etc\/traefik\/dynamic$/), watch: true });
        for (const [, ep] of Object.entries(S.entryPoints as Record<string, { address: string }>)) expect(ep.address).not.toMatch(/\/udp$/);
    });

    it("binds every entrypoint to an IPv4 address, never Go's dual-stack wildcard (`:443` listens on IPv6 too)", () => {
        for (const [name, ep] of Object.entries(S.entryPoints as Record<string, { address: string }>)) {
            expect([name, ep.address]).toEqual([name, expect.stringMatching(/^(0\.0\.0\.0|127\.0\.0\.1):\d+$/)]);
        }
    });

    it("reaches the dashboard and ping only on loopback", () => {
        expect(S.api).toEqual({ dashboard: true });
        expect(S.entryPoints[TRAEFIK_ADMIN_ENTRYPOINT.name].address).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(S.ping.entryPoint).toBe(TRAEFIK_ADMIN_ENTRYPOINT.name);
        const api = Object.values(D.http.routers as Record<string, { service: string; entryPoints: string[] }>).filter((r) => r.service === "api@internal");
        expect(api).toHaveLength(1);
        expect(api[0].entryPoints).toEqual([TRAEFIK_ADMIN_ENTRYPOINT.name]);
    });

    it("has web (80) with the ACME bypass and a low-priority redirect, web-secure (443), and one entrypoint per mail port", () => {
        expect(S.entryPoints.web).toMatchObject({ address: "0.0.0.0:80", allowACMEByPass: true, asDefault: true });
        expect(S.entryPoints.web.http.redirections.entryPoint).toMatchObject({ to: "web-secure", scheme: "https", priority: 1 });
        expect(S.entryPoints["web-secure"]).toMatchObject({ address: "0.0.0.0:443", asDefault: true });
        const defaults = Object.entries(S.entryPoints as Record<string, { asDefault?: boolean }>).filter(([, ep]) => ep.asDefault).map(([n]) => n);
        expect(defaults.sort()).toEqual(["web", "web-secure"]);
        for (const row of model.ports.filter((r) => r.process === "traefik")) {
            expect(publicEntrypoints().filter(([, ep]) => portOf(ep.address) === row.publicPort)).toHaveLength(1);
        }
    });

    it("has an http-01 resolver on web and the Cloudflare dns-01 resolver cf-dns, with the ACME e-mail", () => {
        const resolvers = S.certificatesResolvers as Record<string, { acme: Record<string, any> }>;
        expect(Object.values(resolvers).filter((r) => r.acme.httpChallenge?.entryPoint === "web")).toHaveLength(1);
        expect(resolvers["cf-dns"].acme.dnsChallenge.provider).toBe("cloudflare");
        for (const r of Object.values(resolvers)) {
            expect(r.acme.email).toBe(model.acmeEmail);
            expect(r.acme.storage).toMatch(/^\/etc\/traefik\/acme\//);
        }
        expect(S.accessLog).toBeDefined();
    });
});

describe("Traefik dynamic configuration", () => {
    const routers = () => D.tcp.routers as Record<string, { entryPoints: string[]; rule: string; tls?: { passthrough?: boolean } }>;

    it("passes TLS through on 443 by SNI (mail hosts only) and on 465/993/995 for any SNI", () => {
        const https = Object.values(routers()).filter((r) => r.entryPoints.includes("web-secure"));
        expect(https).toHaveLength(1);
        expect(https[0].tls).toEqual({ passthrough: true });
        const sni = [...https[0].rule.matchAll(/HostSNI\(`([^`]+)`\)/g)].map((m) => m[1]);
        expect(sni.sort()).toEqual([...model.passthroughHosts].sort());
        for (const d of model.domains) expect(sni).not.toContain(d.mtaStsHost);
        for (const port of [465, 993, 995]) {
            const ep = publicEntrypoints().find(([, e]) => portOf(e.address) === port)![0];
            const rs = Object.values(routers()).filter((r) => r.entryPoints.includes(ep));
            expect(rs).toEqual([expect.objectContaining({ rule: "HostSNI(`*`)", tls: { passthrough: true } })]);
        }
    });

    it("forwards ManageSieve (4190) as plain TCP with a single catch-all router, so the server can greet first", () => {
        const ep = publicEntrypoints().find(([, e]) => portOf(e.address) === 4190)![0];
        const rs = Object.values(routers()).filter((r) => r.entryPoints.includes(ep));
        expect(rs).toHaveLength(1);
        expect(rs[0].rule).toBe("HostSNI(`*`)");
        expect(rs[0].tls).toBeUndefined();
        expect(Object.values(D.http.routers as Record<string, { entryPoints: string[] }>).filter((r) => r.entryPoints.includes(ep))).toEqual([]);
    });

    it("uses a tcp.serversTransports entry with proxyProtocol v2, never the deprecated loadBalancer.proxyProtocol", () => {
        const transports = D.tcp.serversTransports as Record<string, unknown>;
        expect(Object.values(transports)).toEqual([{ proxyProtocol: { version: 2 } }]);
        expect(keyPaths(D).filter((p) => /loadBalancer\.proxyProtocol/.test(p))).toEqual([]);
        for (const svc of Object.values(D.tcp.services as Record<string, { loadBalancer: { serversTransport?: string } }>)) {
            if (svc.loadBalancer.serversTransport) expect(Object.keys(transports)).toContain(svc.loadBalancer.serversTransport);
        }
    });

    it("routes ACME http-01 challenges of the mail hosts (and nothing else) to Mailu's port 80", () => {
        const acme = Object.values(D.http.routers as Record<string, { entryPoints: string[]; rule: string; service: string; priority?: number }>).filter((r) => r.entryPoints.includes("web"));
        expect(acme).toHaveLength(1);
        expect(acme[0].rule).toContain("PathPrefix(`/.well-known/acme-challenge/`) && (");
        expect([...acme[0].rule.matchAll(/Host\(`([^`]+)`\)/g)].map((m) => m[1]).sort()).toEqual([...model.passthroughHosts].sort());
        expect(acme[0].priority).toBeGreaterThan(1);
        expect(D.http.services[acme[0].service].loadBalancer.servers).toEqual([{ url: `http://${home}:80` }]);
    });

    it("routes openpgpkey.<d> and mta-sts.<d> of every domain to the WKD nginx with dns-01 certificates", () => {
        const extra = parseModel(withConfig([
            { key: "homemail:extraDomains", value: ["mail2.example.com"] },
        ]));
        const dyn = parseGateway(extra).traefikDynamic;
        const rs = Object.values(dyn.http.routers as Record<string, { entryPoints: string[]; rule: string; service: string; tls?: { certResolver: string } }>);
        for (const d of extra.domains) {
            for (const host of [d.openpgpkeyHost, d.mtaStsHost]) {
                const r = rs.filter((x) => x.rule === `Host(\`${host}\`)`);
                expect(r).toHaveLength(1);
                expect(r[0]).toMatchObject({ entryPoints: ["web-secure"], tls: { certResolver: "cf-dns" } });
                expect(dyn.http.services[r[0].service].loadBalancer.servers).toEqual([{ url: `http://${extra.addresses.wkdListen.address}:${extra.addresses.wkdListen.port}` }]);
            }
        }
    });
});

describe("HAProxy configuration", () => {
    it("sends PROXY v2 to home with an SMTP health check, logs to stdout, runs master-worker and bounds old workers", () => {
        const cfg = gw.render.haproxy.content;
        expect(gw.haproxy.servers).toEqual([{ backend: expect.any(String), address: `${home}:25`, options: expect.arrayContaining(["send-proxy-v2", "check"]) }]);
        expect(cfg).toMatch(/^\s+option smtpchk EHLO /m);
        expect(cfg).toMatch(/^\s+log stdout /m);
        expect(cfg).toMatch(/^\s+master-worker$/m);
        expect(cfg).toMatch(/^\s+hard-stop-after /m);
    });

    it("waits at least as long as RFC 5321 lets an SMTP peer wait (5 min client, 10 min server)", () => {
        const seconds = (name: string) => {
            const [, n, unit] = new RegExp(`^\\s+timeout ${name} (\\d+)(ms|s|m|h)$`, "m").exec(gw.render.haproxy.content)!;
            return Number(n) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit as "s"];
        };
        expect(seconds("client")).toBeGreaterThanOrEqual(300);
        expect(seconds("server")).toBeGreaterThanOrEqual(600);
    });

    it("is reloaded with SIGUSR2 (master-worker), not restarted", () => {
        expect(gatewayCommands(true).reloadHaproxy).toMatch(/kill -s USR2 haproxy$/);
    });
});

describe("compose project", () => {
    const services = gw.compose.services as Record<string, Record<string, any>>;

    it("runs Traefik, HAProxy and the WKD nginx on the host network, publishing nothing", () => {
        expect(Object.keys(services).sort()).toEqual(["haproxy", "traefik", "wkd"]);
        for (const s of Object.values(services)) {
            expect(s.network_mode).toBe("host");
            expect(s.ports).toBeUndefined();
        }
    });

    it("pins every image to the digest it was given", () => {
        expect(services.traefik.image).toBe(TEST_IMAGES.traefik);
        expect(services.haproxy.image).toBe(TEST_IMAGES.haproxy);
        expect(services.wkd.image).toBe(TEST_IMAGES.nginx);
    });

    it("mounts directories only, never the Docker socket or a single rendered file", () => {
        const rendered = [gw.render.compose, gw.render.traefikStatic!, gw.render.traefikDynamic, gw.render.haproxy, renderCfTokenFile()].map((f) => f.path);
        for (const s of Object.values(services)) {
            for (const v of s.volumes) {
                expect(v.type).toBe("bind");
                expect(v.source).not.toMatch(/docker\.sock/);
                expect(rendered).not.toContain(v.source);
                expect(rendered.some((p) => p.startsWith(`${v.source}/`)) || /\/(acme|wkd)$/.test(v.source)).toBe(true);
            }
        }
        expect(services.wkd.volumes).toEqual([expect.objectContaining({ source: "/opt/homemail/gateway/wkd", target: "/etc/nginx/conf.d", read_only: true })]);
    });

    it("has every bind source in place before `compose up` (long-syntax binds do not create them)", () => {
        const up = gatewayCommands(true).up;
        const created = up.split("\n").filter((l) => l.startsWith("install -d")).flatMap((l) => l.split(/\s+/).slice(4));
        const pushedDirs = [gw.render.traefikStatic!, gw.render.traefikDynamic, gw.render.haproxy, renderCfTokenFile()].map((f) => f.path.slice(0, f.path.lastIndexOf("/")));
        for (const s of Object.values(services)) {
            for (const v of s.volumes) expect([v.source, created.includes(v.source) || pushedDirs.includes(v.source)]).toEqual([v.source, true]);
        }
    });

    it("gives Traefik the token as a file path in the mounted secrets directory, never as a value", () => {
        const env = services.traefik.environment as Record<string, string>;
        expect(env.CF_DNS_API_TOKEN_FILE).toMatch(/\/cf_dns_api_token$/);
        expect(Object.keys(env).filter((k) => !k.endsWith("_FILE"))).toEqual([]);
        const secretsMount = services.traefik.volumes.find((v: { target: string }) => env.CF_DNS_API_TOKEN_FILE.startsWith(`${v.target}/`));
        expect(CF_TOKEN_PATH.startsWith(`${secretsMount.source}/`)).toBe(true);
        expect(secretsMount.read_only).toBe(true);
    });
});

describe("token file", () => {
    it("is 0600, secret, and holds only the placeholder (the value is filled in by the component)", () => {
        const f = renderCfTokenFile();
        expect(f).toMatchObject({ path: CF_TOKEN_PATH, mode: "0600", secret: true });
        expect(placeholdersIn(f.content)).toHaveLength(1);
    });
});

describe("an existing Traefik (gateway.existingTraefikDynamicDir)", () => {
    const existing = parseModel(withConfig([{ key: "homemail:gateway", value: { existingTraefikDynamicDir: "/opt/traefik/dynamic" } }]));
    const g = parseGateway(existing);

    it("gets only homemail's dynamic file, in its directory, without the loopback dashboard router", () => {
        expect(g.render.traefikStatic).toBeUndefined();
        expect(g.render.traefikDynamic.path).toBe("/opt/traefik/dynamic/homemail.yml");
        expect(Object.values(g.traefikDynamic.http.routers as Record<string, { service: string }>).map((r) => r.service)).not.toContain("api@internal");
    });

    it("still runs HAProxy and the WKD nginx, but no Traefik", () => {
        expect(Object.keys(g.compose.services).sort()).toEqual(["haproxy", "wkd"]);
    });

    it("reports exactly the entrypoints the dynamic file uses", () => {
        const used = new Set<string>();
        for (const layer of ["http", "tcp"]) {
            for (const r of Object.values(g.traefikDynamic[layer].routers as Record<string, { entryPoints: string[] }>)) r.entryPoints.forEach((e) => used.add(e));
        }
        expect(new Set(g.render.entrypoints.map((e) => e.name))).toEqual(used);
    });
});

describe("pinned images", () => {
    const d = "a".repeat(64);
    it("takes the digest Docker reported, in either form", () => {
        expect(pinnedImage("traefik", "v3.7.16", `traefik@sha256:${d}`)).toBe(`traefik:v3.7.16@sha256:${d}`);
        expect(pinnedImage("traefik", "v3.7.16", `docker.io/library/traefik@sha256:${d}`)).toBe(`traefik:v3.7.16@sha256:${d}`);
        expect(pinnedImage("haproxy", "3.2.19", `sha256:${d}`)).toBe(`haproxy:3.2.19@sha256:${d}`);
    });
    it("refuses anything that is not one confirmed sha256 digest", () => {
        for (const bad of ["", "traefik:v3.7.16", `sha256:${d.slice(1)}`, `sha512:${d}`, "sha256:UPPER", `nginx@sha256:${d}`]) {
            expect(() => pinnedImage("traefik", "v3.7.16", bad)).toThrow();
        }
    });
});

describe("determinism", () => {
    it("renders the same bytes twice and for reordered inputs, with a header and a trailing newline", () => {
        const again = parseGateway(devModel());
        const shuffled = { ...model, passthroughHosts: [...model.passthroughHosts].reverse(), domains: [...model.domains].reverse() };
        const third = parseGateway(shuffled);
        for (const key of ["compose", "traefikStatic", "traefikDynamic", "haproxy"] as const) {
            const text = gw.render[key]!.content;
            expect(again.render[key]!.content).toBe(text);
            expect(third.render[key]!.content).toBe(text);
            expect(text.startsWith("# managed by homemail, do not edit\n")).toBe(true);
            expect(text.endsWith("\n")).toBe(true);
            expect(text).not.toContain("\r");
        }
    });
});
