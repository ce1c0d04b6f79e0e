/**
 * A lab run that "crashes": builds an SSH host with a Docker engine and a running container,
 * prints what it started as one JSON line, then waits to be SIGKILLed (tests/lab/stale-lab.lab.test.ts).
 */
import { Lab } from "../harness";
import { startDockerEngine } from "../harness/dockerHost";
import { busyboxStandIn } from "../harness/images";
import { startSshHost } from "../harness/sshHost";

const lab = new Lab(process.argv[2] ?? "crsh");
const ssh = startSshHost(lab, { name: "vps", address: "203.0.113.10", user: "deploy" });
const engine = startDockerEngine(lab, ssh);
const image = busyboxStandIn(engine);
engine.docker(["run", "-d", "--name", "left", image, "sleep", "1000"]);
const containerPid = Number(engine.docker(["inspect", "-f", "{{.State.Pid}}", "left"]).stdout.trim());
const pids = [...ssh.host.processes(), ...ssh.operator.place.processes(), containerPid];
process.stdout.write(JSON.stringify({ prefix: lab.prefix, dir: lab.dir, cgroupParent: engine.cgroupParent, pids }) + "\n");
setInterval(() => undefined, 1000);
