/**
 * A Docker engine per lab host, and the lab registry that serves Docker Hub names (root only).
 *
 * - {@link startRegistry}: Debian's `docker-registry` in the operator namespace, listening on
 *   {@link OPERATOR_ADDRESS}:5000, which every lab host reaches over its `op0`; hosts know it as
 *   {@link REGISTRY_NAME}. Each engine has it as `registry-mirrors` (so `traefik:v3.7.16` is pulled
 *   from it, unchanged) and as an insecure registry by name (for ghcr.io-style names the stack will
 *   map to it, e.g. `registry.lab.test:5000/mailu/admin`).
 * - {@link startDockerEngine}: Debian's dockerd 20.10 in an {@link SshHost}'s network and mount
 *   namespaces. The host's anchor was started with `nsenter --net=/run/netns/X unshare --mount`, not
 *   `ip netns exec` (which mounts a fresh /sys and hides the cgroup mounts: "Devices cgroup isn't
 *   mounted"), and dockerd joins that mount namespace. Its data-root is in the host's scratch
 *   directory on the machine's file system (overlay2 refuses an overlayfs backing: the host's
 *   /var/lib is one); exec-root, pidfile and socket are on the host's private /run, the socket at
 *   Docker's default path so `docker -H ssh://user@host` (which runs `docker system dial-stdio` there)
 *   finds it; the SSH user is in the `docker` group. Its cgroups live under a parent of its own.
 *
 * Cleanup (registered with the lab): containers removed through the engine, dockerd stopped by PID
 * (containerd and shims follow, or the lab's namespace sweep kills them by PID), its cgroup parent
 * removed; the mounts go with the host's mount namespace.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { alive, Background, cgroupDirs, Host, Lab, logTail, removeCgroupTree, run, RunOptions, RunResult, waitFor } from "./index";
import { OPERATOR_ADDRESS, Operator, SshHost, startOperator } from "./sshHost";

/**
 * The docker CLI the lab uses, on the operator and (first on PATH) on the hosts: the machine's
 * 28.x client when present, else Debian's 20.10. Both talk to dockerd 20.10 (API 1.41) by version
 * negotiation; {@link DockerEngine.version} logs what was used.
 */
export const DOCKER_CLI = existsSync("/usr/local/bin/docker") ? "/usr/local/bin/docker" : "/usr/bin/docker";

/** The name lab hosts know the lab registry by (in each host's private /etc/hosts). */
export const REGISTRY_NAME = "registry.lab.test";
export const REGISTRY_PORT = 5000;

/** The lab registry. */
export interface LabRegistry {
    /** `registry.lab.test:5000`: prefix for names that are not Docker Hub's. */
    readonly hostPort: string;
    /** Where it listens, as the hosts reach it. */
    readonly address: string;
    readonly process: Background;
    /** Its storage directory on the machine. */
    readonly storage: string;
}

const registries = new WeakMap<Lab, LabRegistry>();

/** Starts the lab registry (once per lab) in the operator namespace. */
export function startRegistry(lab: Lab, operator: Operator = startOperator(lab)): LabRegistry {
    const existing = registries.get(lab);
    if (existing) return existing;
    const dir = path.join(lab.dir, "registry");
    const storage = path.join(dir, "storage");
    mkdirSync(storage, { recursive: true });
    const config = path.join(dir, "config.yml");
    writeFileSync(
        config,
        [
            "version: 0.1",
            "log: { level: warn, accesslog: { disabled: true } }",
            `storage: { filesystem: { rootdirectory: ${storage} }, delete: { enabled: true } }`,
            // All addresses of the operator namespace: only the lab's veths are there.
            `http: { addr: ":${REGISTRY_PORT}" }`,
            "",
        ].join("\n"),
    );
    const started = Date.now();
    const log = path.join(dir, "registry.log");
    const proc = operator.spawnLogged(["docker-registry", "serve", config], log);
    waitFor(() => operator.place.listening(REGISTRY_PORT) || !alive(proc.pid), 10_000, "lab registry did not listen");
    if (!alive(proc.pid)) throw new Error(`lab registry exited: ${logTail(log)}`);
    process.stderr.write(`lab registry: listening after ${Date.now() - started} ms\n`);
    const reg = { hostPort: `${REGISTRY_NAME}:${REGISTRY_PORT}`, address: OPERATOR_ADDRESS, process: proc, storage };
    registries.set(lab, reg);
    return reg;
}

export interface DockerEngineOptions {
    /** Registry used as Docker Hub mirror and reachable by name (default: the lab's, started if needed). */
    readonly registry?: LabRegistry;
    /** A `docker-compose` CLI plugin binary to install in the host's private /usr/local (optional). */
    readonly composePlugin?: string;
}

/** A running dockerd on a lab host. */
export class DockerEngine {
    constructor(
        public readonly ssh: SshHost,
        public readonly dockerd: Background,
        /** data-root on the machine's file system. */
        public readonly dataRoot: string,
        /** ms from spawn to a daemon answering `docker version`. */
        public readonly startMs: number,
        /** cgroup parent of its containers (cgroupfs driver, v1). */
        public readonly cgroupParent: string,
    ) {}

    get host(): Host {
        return this.ssh.host;
    }

    /** The docker CLI on the host itself, as root, on the engine's socket. */
    docker(argv: readonly string[], opts: RunOptions = {}): RunResult {
        return this.host.run([DOCKER_CLI, "-H", `unix://${ENGINE_SOCKET}`, ...argv], opts);
    }

    /** The docker CLI in the operator namespace, through `ssh://user@address` as the engine will use it. */
    dockerOverSsh(argv: readonly string[], opts: RunOptions = {}): RunResult {
        return this.ssh.operator.run([DOCKER_CLI, "-H", this.sshUrl, ...argv], opts);
    }

    /** `ssh://user@address` (the Docker provider's `host`). */
    get sshUrl(): string {
        return `ssh://${this.ssh.user}@${this.ssh.address}`;
    }

    /** `docker version` over SSH from the operator: client and server versions (for the log). */
    version(): string {
        return this.dockerOverSsh(["version", "--format", "client {{.Client.Version}} (API {{.Client.APIVersion}}), server {{.Server.Version}} (API {{.Server.APIVersion}})"]).stdout.trim();
    }
}

/** The engine's socket on its host (Docker's default path, so `docker system dial-stdio` finds it). */
export const ENGINE_SOCKET = "/run/docker.sock";

/** Starts dockerd in `ssh`'s host; see the module comment. */
export function startDockerEngine(lab: Lab, ssh: SshHost, opts: DockerEngineOptions = {}): DockerEngine {
    const host = ssh.host;
    const registry = opts.registry ?? startRegistry(lab, ssh.operator);
    const dataRoot = path.join(host.root, "docker");
    mkdirSync(dataRoot, { recursive: true, mode: 0o710 });
    const fsType = host.run(["stat", "-f", "-c", "%T", dataRoot]).stdout.trim();
    if (fsType === "overlayfs" || fsType === "overlay") throw new Error(`docker data-root ${dataRoot} is on ${fsType}: overlay2 needs a non-overlay backing file system`);
    const cgroupParent = `/${lab.prefix}-${ssh.name}`;

    host.sh(`set -e
        getent group docker >/dev/null || groupadd --system docker
        usermod -a -G docker ${ssh.user}
        printf '%s %s\\n' '${registry.address}' '${REGISTRY_NAME}' >> /etc/hosts`);
    if (opts.composePlugin) {
        host.run(["install", "-D", "-m", "0755", opts.composePlugin, "/usr/local/lib/docker/cli-plugins/docker-compose"]);
    }
    host.install(
        "/etc/docker/daemon.json",
        JSON.stringify(
            {
                "data-root": dataRoot,
                "exec-root": "/run/docker",
                pidfile: "/run/docker.pid",
                hosts: [`unix://${ENGINE_SOCKET}`],
                group: "docker",
                "storage-driver": "overlay2",
                "cgroup-parent": cgroupParent,
                "registry-mirrors": [`http://${registry.hostPort}`],
                "insecure-registries": [registry.hostPort],
                "log-level": "warn",
            },
            null,
            2,
        ) + "\n",
    );
    const started = Date.now();
    const log = path.join(host.root, "dockerd.log");
    const dockerd = host.spawnLogged(["dockerd", "--config-file", "/etc/docker/daemon.json"], log);
    const answers = () => host.run([DOCKER_CLI, "-H", `unix://${ENGINE_SOCKET}`, "version"], { allowFailure: true, timeoutMs: 5000 }).status === 0;
    waitFor(() => !alive(dockerd.pid) || answers(), 60_000, `host ${ssh.name}: dockerd did not answer within 60 s`);
    if (!alive(dockerd.pid)) throw new Error(`host ${ssh.name}: dockerd exited: ${logTail(log)}`);
    const engine = new DockerEngine(ssh, dockerd, dataRoot, Date.now() - started, cgroupParent);
    lab.onCleanup(() => stopEngine(lab, engine));
    const driver = engine.docker(["info", "--format", "{{.Driver}}"]).stdout.trim();
    if (driver !== "overlay2") throw new Error(`host ${ssh.name}: dockerd chose storage driver ${driver}, not overlay2 (data-root on ${fsType})`);
    process.stderr.write(`host ${ssh.name}: dockerd up in ${engine.startMs} ms, data-root on ${fsType}; ${DOCKER_CLI}: ${engine.version()}\n`);
    return engine;
}

/** Containers first (through the engine), then dockerd by PID, then its cgroups. */
function stopEngine(lab: Lab, engine: DockerEngine): void {
    const started = Date.now();
    let containersMs = 0;
    if (alive(engine.dockerd.pid)) {
        const ids = engine.docker(["ps", "-aq"], { allowFailure: true, timeoutMs: 10_000 }).stdout.split("\n").filter(Boolean);
        if (ids.length) engine.docker(["rm", "-f", "-v", ...ids], { allowFailure: true, timeoutMs: 60_000 });
        containersMs = Date.now() - started;
        try {
            process.kill(engine.dockerd.pid, "SIGTERM");
        } catch {
            /* already gone */
        }
        const deadline = Date.now() + 20_000;
        while (alive(engine.dockerd.pid) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
    // containerd (own session, killed by dockerd's death signal) and any shim: the lab's namespace
    // sweep kills what is left by PID; here only the engine's own processes matter.
    for (const pid of engine.host.processes()) {
        const comm = readComm(pid);
        if (/^(containerd|containerd-shim|docker-proxy)/.test(comm)) lab.stop(pid);
    }
    for (const dir of cgroupDirs(engine.cgroupParent)) removeCgroupTree(dir);
    process.stderr.write(`host ${engine.ssh.name}: engine stopped in ${Date.now() - started} ms (containers removed in ${containersMs} ms)\n`);
}

function readComm(pid: number): string {
    try {
        return run(["cat", `/proc/${pid}/comm`], { allowFailure: true }).stdout.trim();
    } catch {
        return "";
    }
}
