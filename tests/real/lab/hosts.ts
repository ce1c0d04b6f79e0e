/**
 * The real run's lab hosts (root only): the dev stack's VPS and home server as SSH hosts with a
 * NON-root sudo user, a Docker engine each, the operator namespace the Pulumi engine runs in, the
 * lab registry, and an ISP router between the two sites, at the stack's own addresses:
 *
 *   operator 10.254.254.1 (engine, ssh-agent, known_hosts; registry :5000)
 *      |  op0 (point-to-point veths)             |  op0
 *   vps 203.0.113.10 (sshd, dockerd) ==eth0== isp ==eth0== home 198.51.100.20 WAN (sshd, dockerd),
 *                                                          192.168.1.10 on op0 (the stack's home.sshHost)
 *
 * The operator reaches each host only at the address the stack's SSH config names (vps.sshHost
 * defaults to vps.publicIp; home.sshHost is the LAN address); it has no route to the ISP. The two
 * sites reach each other only through the ISP (WireGuard's path).
 */
import type { Model } from "../../../components/config";
import { ConfigChange, devModel, devValue } from "../../helpers/stack";
import { Lab, Netns } from "../../lab/harness";
import { DockerEngine, LabRegistry, startDockerEngine, startRegistry } from "../../lab/harness/dockerHost";
import { Operator, SshHost, startOperator, startSshHost } from "../../lab/harness/sshHost";

/** The login user of both lab hosts (non-root, passwordless sudo, docker group). */
export const LAB_SSH_USER = "deploy";

export interface RealSite {
    readonly ssh: SshHost;
    /** Absent when built with `docker: false`. */
    readonly engine?: DockerEngine;
}

export interface RealHosts {
    readonly lab: Lab;
    readonly model: Model;
    readonly operator: Operator;
    readonly registry: LabRegistry;
    readonly isp: Netns;
    readonly vps: RealSite;
    readonly home: RealSite;
    /** Stack config the lab needs on top of Pulumi.dev.yaml (see {@link labStackConfig}). */
    readonly stackConfig: readonly ConfigChange[];
}

export interface RealHostsOptions {
    /** Start a dockerd on each host (default true). */
    readonly docker?: boolean;
}

/** Builds the hosts; on any failure it removes what it built and rethrows. */
export function buildRealHosts(tag: string, opts: RealHostsOptions = {}): RealHosts {
    const lab = new Lab(tag);
    try {
        const model = devModel();
        const operator = startOperator(lab);
        const registry = startRegistry(lab, operator);
        const isp = lab.netns("isp");
        isp.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
        const site = (name: "vps" | "home", sshHost: string, wanIp: string): RealSite => {
            const ssh = startSshHost(lab, { name, address: sshHost, user: LAB_SSH_USER, operator });
            const gateway = wanIp.replace(/\.\d+$/, ".1");
            lab.link(isp, `to-${name}`, `${gateway}/24`, ssh.host, "eth0", `${wanIp}/24`);
            ssh.host.run(["ip", "route", "add", "default", "via", gateway]);
            return { ssh, engine: opts.docker === false ? undefined : startDockerEngine(lab, ssh, { registry }) };
        };
        const vps = site("vps", model.vps.ssh.host, model.addresses.vpsPublicIp);
        const home = site("home", model.home.ssh.host, model.addresses.homeWanIp);
        return { lab, model, operator, registry, isp, vps, home, stackConfig: labStackConfig() };
    } catch (err) {
        lab.cleanup();
        throw err;
    }
}

/**
 * The lab stack: the dev stack with both hosts logged into as {@link LAB_SSH_USER} (non-root, so
 * every remote step goes through sudo). The hosts' addresses are the dev stack's own; the keys come
 * from the operator's ssh-agent (no `*SshPrivateKey` secret). The host keys will join this list with
 * the "Security" issue's host-key config.
 */
export function labStackConfig(): ConfigChange[] {
    return [
        { key: "homemail:vps", value: { ...devValue<Record<string, unknown>>("homemail:vps"), sshUser: LAB_SSH_USER } },
        { key: "homemail:home", value: { ...devValue<Record<string, unknown>>("homemail:home"), sshUser: LAB_SSH_USER } },
    ];
}
