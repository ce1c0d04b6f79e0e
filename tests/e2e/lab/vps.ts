/**
 * The VPS of the lab, from the rendered files only: every file the program pushes there, installed
 * at its path; the host firewall and the SMTP egress enabled by the commands the deploy runs; the
 * WireGuard hub up; HAProxy run from the rendered compose service.
 */
import type { Model } from "../../../components/config";
import { Background, Host, Lab } from "../../lab/harness";
import { runComposeService } from "./compose";
import { connectSite, Internet, useResolver } from "./internet";
import { waitListening } from "./listening";
import { RenderedStack } from "./rendered";
import { installFixtureKey, Wireguard } from "./wireguard";

export const GATEWAY_COMPOSE = "/opt/homemail/gateway/compose.yaml";
export const EGRESS_SCRIPT = "/usr/local/sbin/homemail-smtp-egress";
const FIREWALL_SCRIPT = "/usr/local/sbin/homemail-gateway-firewall";

export interface Vps {
    readonly host: Host;
    /** HAProxy as the compose service runs it; its output is its log (tcplog lines). */
    readonly haproxy: Background;
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

    const haproxy = runComposeService(vps, rendered.text("vps", GATEWAY_COMPOSE), "haproxy");
    for (const row of model.ports.filter((p) => p.process === "haproxy")) waitListening(vps, row.publicPort, "HAProxy", haproxy.output);
    return { host: vps, haproxy };
}
