/**
 * The VPS of the lab, from the rendered files only: every file the program pushes there, installed
 * at its path; the host firewall and the SMTP egress enabled by the commands the deploy runs; the
 * WireGuard hub up; HAProxy run from the rendered compose service. On request, the HTTPS front:
 * the WKD/MTA-STS nginx from its compose service behind a stand-in for Traefik (lab CA), and
 * Traefik's TCP routers (passthrough to home with PROXY v2) played by HAProxy.
 */
import * as path from "node:path";
import type { Model } from "../../../components/config";
import { Host, Lab, waitFor } from "../../lab/harness";
import { composeServiceCommandLine, runComposeService } from "./compose";
import { installGatewayDockerStandIn } from "./dockerStandIn";
import { connectSite, Internet, useResolver } from "./internet";
import { waitListening } from "./listening";
import { LoggedProcess } from "./logged";
import { RenderedStack } from "./rendered";
import { LabCa } from "./labCa";
import { httpsRoutes, startTraefikStandIn } from "./traefikStandIn";
import { behindTcpRouters, startTraefikTcpStandIn, tcpRoutes } from "./traefikTcpStandIn";
import { installFixtureKey, Wireguard } from "./wireguard";

export const GATEWAY_COMPOSE = "/opt/homemail/gateway/compose.yaml";
export const EGRESS_SCRIPT = "/usr/local/sbin/homemail-smtp-egress";
const FIREWALL_SCRIPT = "/usr/local/sbin/homemail-gateway-firewall";
const TRAEFIK_STATIC = "/opt/homemail/gateway/traefik/traefik.yml";
const TRAEFIK_DYNAMIC = "/opt/homemail/gateway/traefik/dynamic/homemail.yml";

export interface Vps {
    readonly host: Host;
    /** HAProxy as the compose service runs it; its output is its log (tcplog lines). */
    readonly haproxy: LoggedProcess;
}

export function buildVps(lab: Lab, internet: Internet, rendered: RenderedStack, model: Model, wireguard: Wireguard): Vps {
    const vps = lab.host("vps");
    connectSite(lab, internet, vps, model.addresses.vpsPublicIp);
    useResolver(vps, internet.dnsAddress);
    // Docker (the gateway's compose project) sets FORWARD's policy to DROP on the hosts it runs on.
    vps.run(["iptables", "-P", "FORWARD", "DROP"]);

    rendered.installAll("vps", vps);
    installFixtureKey(vps, "hub");
    // What the deploy's gateway-firewall and wg-hub-* steps run, minus systemctl.
    vps.run([FIREWALL_SCRIPT, "enable"], { timeoutMs: 60_000 });
    wireguard.up(vps);
    vps.run([EGRESS_SCRIPT, "enable"], { timeoutMs: 60_000 });

    const haproxy = runComposeService(vps, rendered.text("vps", GATEWAY_COMPOSE), "haproxy", path.join(lab.dir, "haproxy.log"));
    for (const row of model.ports.filter((p) => p.process === "haproxy")) waitListening(vps, row.publicPort, "HAProxy", haproxy.log);
    return { host: vps, haproxy };
}

/**
 * The VPS's HTTPS front for WKD and MTA-STS: the `wkd` compose service (nginx with the rendered
 * server blocks and tree) and, in front of it, nginx playing Traefik's TLS routes with certificates
 * of a lab CA, which clients must trust.
 */
export function startHttpsFront(lab: Lab, vps: Vps, rendered: RenderedStack, model: Model): { ca: LabCa; wkd: LoggedProcess; traefik: TraefikStandIn } {
    const gatewayCompose = rendered.text("vps", GATEWAY_COMPOSE);
    const wkd = runComposeService(vps.host, gatewayCompose, "wkd", path.join(lab.dir, "wkd-nginx.log"));
    waitListening(vps.host, model.addresses.wkdListen.port, "the WKD nginx", wkd.log);
    const ca = new LabCa(path.join(lab.dir, "lab-ca"));
    const tcp = tcpRoutes(rendered.text("vps", TRAEFIK_STATIC), rendered.text("vps", TRAEFIK_DYNAMIC));
    const routes = behindTcpRouters(httpsRoutes(rendered.text("vps", TRAEFIK_STATIC), rendered.text("vps", TRAEFIK_DYNAMIC)), tcp);
    const httpDir = path.join(lab.dir, "traefik-stand-in");
    const tcpDir = path.join(lab.dir, "traefik-tcp-stand-in");
    let running: LoggedProcess[] = [];
    const traefik: TraefikStandIn = {
        start: () => {
            running = [startTraefikStandIn(vps.host, httpDir, routes, ca), startTraefikTcpStandIn(vps.host, tcpDir, tcp, routes)];
        },
        stop: () => {
            for (const p of running) lab.stop(p.process.pid);
            running = [];
            const ports = [...new Set(tcp.map((t) => Number(t.bind.split(":").pop())))];
            waitFor(() => ports.every((port) => !vps.host.listening(port)), 10_000, "the Traefik stand-in still listens after it was stopped");
        },
    };
    traefik.start();
    // What `docker compose ps` reports on the VPS: each gateway service while the processes that play it run.
    installGatewayDockerStandIn(vps.host, rendered, {
        haproxy: [composeServiceCommandLine(gatewayCompose, "haproxy")],
        wkd: [composeServiceCommandLine(gatewayCompose, "wkd")],
        traefik: [path.join(httpDir, "nginx.conf"), path.join(tcpDir, "haproxy.cfg")],
    });
    return { ca, wkd, traefik };
}

/** The processes playing Traefik on the VPS, which a test can stop and start again (same routes and CA). */
export interface TraefikStandIn {
    start(): void;
    stop(): void;
}
