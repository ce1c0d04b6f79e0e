/**
 * The lab's stand-in for the `docker` CLI on the home host (tests/e2e/lab/docker-standin.py): what
 * `homemail doctor` asks Docker about Mailu there, answered from the Mailu stand-in's real state.
 * Installed at /usr/local/bin/docker in home's private /usr/local (the machine's own docker CLI
 * stays untouched), with the state file it reads; the bind-mount sources of every rendered service
 * are created below the data root, as Docker does when it starts a container.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Host } from "../../lab/harness";
import { composeServices } from "./compose";
import { MAILU_COMPOSE } from "./mailuRender";
import { COMPOSE_PATH as GATEWAY_COMPOSE } from "../../../components/render/gatewayLayout";
import { Postfix } from "./postfix";
import { RenderedStack } from "./rendered";

export const DOCKER_STAND_IN_STATE = "/usr/local/lib/homemail-lab/docker-standin.json";

export function installDockerStandIn(home: Host, container: Host, standIn: Postfix, rendered: RenderedStack): void {
    const services = composeServices(rendered.text("home", MAILU_COMPOSE));
    const state = {
        project: "mailu",
        pid: container.anchor,
        postfixConf: standIn.conf,
        postfixPidFile: path.join(standIn.dir, "queue", "pid", "master.pid"),
        services: Object.entries(services).map(([name, s]) => ({ name, publishes: (s.ports?.length ?? 0) > 0 })),
    };
    home.install(DOCKER_STAND_IN_STATE, `${JSON.stringify(state, null, 2)}\n`);
    home.install("/usr/local/bin/docker", readFileSync(path.join(__dirname, "docker-standin.py")), "0755");
    const sources = Object.values(services).flatMap((s) => (s.volumes ?? []).map((v) => (typeof v === "string" ? v.split(":")[0] : v.source)).filter((p) => p.startsWith("/")));
    home.run(["mkdir", "-p", ...new Set(sources)]);
}

/**
 * The same stand-in on the VPS, for the gateway compose project: each rendered service is played by
 * lab processes (`played`: service -> substrings of their command lines), and is "running" while
 * all of them run. A rendered service the lab does not play is an error: the doctor checks every one.
 */
export function installGatewayDockerStandIn(vps: Host, rendered: RenderedStack, played: Readonly<Record<string, readonly string[]>>): void {
    const services = composeServices(rendered.text("vps", GATEWAY_COMPOSE));
    const unplayed = Object.keys(services).filter((name) => !played[name]?.length);
    if (unplayed.length) throw new Error(`the lab plays no process for the gateway service(s) ${unplayed.join(", ")}`);
    const state = {
        project: "gateway",
        services: Object.entries(services).map(([name, s]) => ({ name, publishes: false, healthcheck: s.healthcheck !== undefined, processes: played[name] })),
    };
    vps.install(DOCKER_STAND_IN_STATE, `${JSON.stringify(state, null, 2)}\n`);
    vps.install("/usr/local/bin/docker", readFileSync(path.join(__dirname, "docker-standin.py")), "0755");
}
