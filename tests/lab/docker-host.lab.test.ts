/**
 * Lab: a Docker engine on an SSH lab host, used from the operator namespace the way the Docker
 * provider uses it (`docker -H ssh://user@host`), with images served by the lab registry under
 * Docker Hub names (tests/lab/harness/dockerHost.ts, images.ts).
 *
 *   operator (docker CLI, ssh-agent; lab registry :5000) ==veth== vps 203.0.113.10 (sshd, dockerd)
 *
 * Proves: dockerd runs in the host's network namespace with overlay2 on the machine's file system;
 * the NON-root SSH user drives it over SSH; `docker pull busybox:<v>` is served by the registry
 * mirror and records RepoDigests; a published port answers inside the host's namespace and not on
 * the machine; the debootstrap base image runs; cleanup leaves no process, mount, cgroup or namespace.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describeRoot } from "../helpers/root";
import { alive, cgroupDirs, Lab, run } from "./harness";
import { DockerEngine, LabRegistry, startDockerEngine, startRegistry } from "./harness/dockerHost";
import { baseImage, busyboxStandIn, pushToRegistry } from "./harness/images";
import { SshHost, startSshHost } from "./harness/sshHost";

const VPS = "203.0.113.10";
const PORT = 18080;

describeRoot("lab: a Docker engine per SSH host, images from the lab registry", () => {
    let lab: Lab;
    let vps: SshHost;
    let engine: DockerEngine;
    let registry: LabRegistry;
    let busybox: { name: string; digest: string };
    let base: { name: string; digest: string };

    beforeAll(() => {
        const t0 = Date.now();
        lab = new Lab("dkr");
        vps = startSshHost(lab, { name: "vps", address: VPS, user: "deploy" });
        registry = startRegistry(lab);
        engine = startDockerEngine(lab, vps, { registry });
        const t1 = Date.now();
        const bb = busyboxStandIn(engine);
        busybox = { name: bb, digest: pushToRegistry(engine, registry, bb, `library/${bb}`) };
        const t2 = Date.now();
        const b = baseImage(engine);
        base = { name: b, digest: pushToRegistry(engine, registry, b, b) };
        const t3 = Date.now();
        process.stderr.write(
            `docker lab: hosts+registry+dockerd ${t1 - t0} ms, busybox import+push ${t2 - t1} ms, base import+push ${t3 - t2} ms\n`,
        );
    }, 300_000);

    afterAll(() => lab?.cleanup());

    it("runs dockerd in the host's network namespace, overlay2 on the machine's file system", () => {
        const netOf = (pid: number) => run(["readlink", `/proc/${pid}/ns/net`]).stdout.trim();
        expect(netOf(engine.dockerd.pid)).toBe(netOf(vps.host.anchor));
        expect(netOf(engine.dockerd.pid)).not.toBe(netOf(process.pid));
        expect(engine.docker(["info", "--format", "{{.Driver}} {{.CgroupVersion}} {{.DockerRootDir}}"]).stdout.trim()).toBe(`overlay2 1 ${engine.dataRoot}`);
        expect(run(["stat", "-f", "-c", "%T", engine.dataRoot]).stdout.trim()).not.toMatch(/overlay|tmpfs/);
        expect(vps.host.run(["ip", "link", "show", "docker0"]).stdout).toContain("docker0");
        // containerd writes /opt/containerd: the host's /opt is its own, not the machine's.
        expect(vps.host.run(["test", "-d", "/opt/containerd"]).status).toBe(0);
        expect(vps.host.run(["findmnt", "-n", "-o", "SOURCE", "/opt"]).stdout).toContain(vps.host.privateDir("/opt"));
        // Docker's NAT chain is the host's, not the machine's.
        expect(vps.host.run(["iptables", "-t", "nat", "-S", "DOCKER"]).stdout).toContain("-N DOCKER");
    });

    it("answers the non-root SSH user over ssh:// from the operator namespace (docker group, no sudo)", () => {
        expect(vps.operator.ssh(vps, ["id", "-un;", "id", "-nG"]).stdout.split("\n")[1].split(" ")).toContain("docker");
        const v = engine.dockerOverSsh(["version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}"]).stdout.trim();
        expect(v).toMatch(/^20\.10\.\d+\S* 1\.41$/);
        process.stderr.write(`docker version over ssh: ${engine.version()}\n`);
    });

    it("pulls a Docker Hub name from the lab registry mirror, with its RepoDigests", () => {
        expect(engine.docker(["image", "inspect", busybox.name], { allowFailure: true }).status).not.toBe(0);
        expect(existsSync(path.join(registry.storage, "docker/registry/v2/repositories/library/busybox"))).toBe(true);
        engine.dockerOverSsh(["pull", "-q", busybox.name], { timeoutMs: 60_000 });
        const digests = JSON.parse(engine.dockerOverSsh(["image", "inspect", busybox.name, "--format", "{{json .RepoDigests}}"]).stdout) as string[];
        expect(digests).toEqual([`busybox@${busybox.digest}`]);
    });

    it("publishes a container's port (started over ssh) inside the host's namespace only", () => {
        engine.dockerOverSsh([
            "run", "-d", "--name", "web", "-p", `${PORT}:80`, busybox.name,
            "sh", "-c", "mkdir -p /srv && echo lab-web > /srv/index.html && exec httpd -f -p 80 -h /srv",
        ]);
        const get = (where: "host" | "machine") => {
            const argv = ["curl", "-sS", "--max-time", "3", `http://127.0.0.1:${PORT}/`];
            return where === "host" ? vps.host.run(argv, { allowFailure: true }) : run(argv, { allowFailure: true });
        };
        let r = get("host");
        for (let i = 0; i < 50 && r.stdout.trim() !== "lab-web"; i++) {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
            r = get("host");
        }
        expect(r.stdout.trim()).toBe("lab-web");
        expect(vps.host.run(["iptables", "-t", "nat", "-S", "DOCKER"]).stdout).toContain(`--dport ${PORT}`);
        expect(get("machine").stdout).not.toContain("lab-web");
        expect(run(["iptables", "-t", "nat", "-S"]).stdout).not.toContain(`--dport ${PORT}`);
    });

    it("runs the debootstrap base image pulled by name from the registry", () => {
        engine.dockerOverSsh(["pull", "-q", `${registry.hostPort}/${base.name}`], { timeoutMs: 120_000 });
        const out = engine.dockerOverSsh(["run", "--rm", `${registry.hostPort}/${base.name}`, "cat", "/etc/debian_version"]).stdout.trim();
        expect(out).toMatch(/^12\.\d+$/);
    });

    it("cleans up every process, mount, cgroup and namespace", () => {
        const containerPid = Number(engine.docker(["inspect", "-f", "{{.State.Pid}}", "web"]).stdout.trim());
        const inHost = vps.host.processes();
        const comms = inHost.map((p) => readFileSync(`/proc/${p}/comm`, "utf8").trim());
        expect(comms).toEqual(expect.arrayContaining(["dockerd", "containerd", "sshd"]));
        expect(comms.some((c) => c.startsWith("containerd-shim"))).toBe(true);
        expect(alive(containerPid)).toBe(true);
        const dir = lab.dir;
        lab.cleanup();
        expect(lab.leftovers()).toEqual([]);
        for (const pid of [...inHost, containerPid, registry.process.pid, vps.operator.agent.pid]) expect([pid, alive(pid)]).toEqual([pid, false]);
        expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(dir);
        expect(cgroupDirs(engine.cgroupParent)).toEqual([]);
        expect(existsSync(dir)).toBe(false);
        expect(readdirSync("/proc").filter((p) => /^\d+$/.test(p) && cmdline(p).includes(dir))).toEqual([]);
    });
});

function cmdline(pid: string): string {
    try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
        return "";
    }
}
