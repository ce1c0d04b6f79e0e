/**
 * Lab: a run whose test process dies (SIGKILL: no cleanup ran) leaves sshd, ssh-agent, the
 * registry, dockerd, containerd, a shim and a container running; the next run of the same lab tag
 * removes all of it by PID, then its namespaces, cgroups and scratch directory (Lab.removeStale).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { describeRoot } from "../helpers/root";
import { alive, cgroupDirs, Lab, run, waitForAsync } from "./harness";

const TAG = "crsh";

describeRoot("lab: a crashed run's hosts and engines are removed by the next run", () => {
    it("kills what the dead run left, by PID, and removes its namespaces, cgroups and files", async () => {
        const child = spawn("npx", ["tsx", path.join(__dirname, "support", "crash-lab.ts"), TAG], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        await waitForAsync(() => out.includes("\n") || child.exitCode !== null, 90_000, "the crashing lab did not come up");
        if (!out.includes("\n")) throw new Error(`crash-lab exited: ${err}`);
        const left = JSON.parse(out.trim().split("\n")[0]) as { prefix: string; dir: string; cgroupParent: string; pids: number[] };
        // `npx` runs tsx runs node: the lab's own process is the one whose pid is in the prefix.
        const labPid = Number(left.prefix.split("-")[2]);
        process.kill(labPid, "SIGKILL");
        await waitForAsync(() => !alive(labPid), 10_000, "the lab process did not die");
        child.kill("SIGKILL");

        const living = () => left.pids.filter(alive);
        const comms = living().map((p) => run(["cat", `/proc/${p}/comm`], { allowFailure: true }).stdout.trim());
        expect(comms).toEqual(expect.arrayContaining(["sshd", "dockerd", "containerd", "sleep", "ssh-agent", "docker-registry"]));
        expect(run(["ip", "netns", "list"]).stdout).toContain(left.prefix);

        Lab.removeStale(TAG);

        expect(living()).toEqual([]);
        expect(run(["ip", "netns", "list"]).stdout).not.toContain(left.prefix);
        expect(cgroupDirs(left.cgroupParent)).toEqual([]);
        expect(existsSync(left.dir)).toBe(false);
    }, 180_000);
});
