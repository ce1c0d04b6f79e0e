/**
 * Network-namespace lab harness (root only). Generic: any lab builds its topology from these pieces.
 *
 * - {@link Lab}: owns everything a lab creates (namespaces, processes, temp dirs) and removes it in
 *   {@link Lab.cleanup}, in reverse order, by name and by PID, even after a failure half-way.
 * - {@link Netns}: a named network namespace (`<prefix>-<name>`); {@link Netns.run} runs a command in
 *   it with a bounded timeout.
 * - {@link Host}: a namespace that also has its own mount namespace, with private overlays over
 *   /etc, /usr/local and /var/lib, empty private /opt and /srv, and a fresh tmpfs /run. Rendered files are installed at their real
 *   paths without touching the machine, and two hosts never share /run/wireguard (two wireguard-go
 *   `wg0` in one mount namespace collide on the UAPI socket).
 *
 * - {@link waitFor} / {@link waitForAsync}: bounded polling; the async one lets background processes'
 *   piped output arrive while it waits.
 *
 * Lab hosts for the real engine build on these: `sshHost.ts` (operator namespace, sshd hosts with
 * a sudo user, the systemctl stand-in), `dockerHost.ts` (dockerd per host, the lab registry),
 * `images.ts` (busybox and debootstrap images). Such hosts use {@link HostOptions} `entry:
 * "nsenter"` (dockerd needs the machine's cgroup mounts) and `privateDirs` (/home, /root).
 *
 * Names: `hm-<lab>-<pid>-<name>` (short: interface and namespace names stay readable). A lab run
 * first removes namespaces left by earlier runs of the same lab whose process is gone.
 *
 * Usage:
 * ```ts
 * const lab = new Lab("eg");
 * const isp = lab.netns("isp");
 * const home = lab.host("home");
 * lab.link(isp, "to-home", "198.51.100.1/24", home, "eth0", "198.51.100.20/24");
 * home.run(["ip", "route", "add", "default", "via", "198.51.100.1"]);
 * afterAll(() => lab.cleanup());
 * ```
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

export interface RunOptions {
    /** Bytes for stdin. */
    readonly input?: string | Buffer;
    /** Kill after this many ms (default 30 s). */
    readonly timeoutMs?: number;
    /** Extra environment variables. */
    readonly env?: Readonly<Record<string, string>>;
    /** Do not throw on a non-zero exit. */
    readonly allowFailure?: boolean;
    /** Working directory (default: the test process's). */
    readonly cwd?: string;
}

export interface RunResult {
    readonly status: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** The last `lines` lines of a log file ("" when it does not exist), for error messages. */
export function logTail(file: string, lines = 30): string {
    return existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(-lines).join("\n") : "";
}

/** Runs argv synchronously with a timeout; throws with the command's output on failure. */
export function run(argv: readonly string[], opts: RunOptions = {}): RunResult {
    const r = spawnSync(argv[0], argv.slice(1), {
        input: opts.input,
        timeout: opts.timeoutMs ?? 30_000,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, ...opts.env },
        cwd: opts.cwd,
        encoding: "utf8",
    });
    const result: RunResult = { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    if (r.error || (result.status !== 0 && !opts.allowFailure)) {
        const why = r.error ? String(r.error) : `exit ${result.status}`;
        throw new Error(`${argv.join(" ")}: ${why}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
    }
    return result;
}

/** A background process started by the lab; stopped by PID. */
export interface Background {
    readonly pid: number;
    readonly child: ChildProcess;
    /** Everything it wrote so far (stdout and stderr). */
    output(): string;
}

/** Things that can run commands: a namespace or a host. */
export abstract class Place {
    constructor(
        protected readonly lab: Lab,
        /** Full namespace name. */
        public readonly ns: string,
        /** Short name given by the lab. */
        public readonly name: string,
    ) {}

    /** argv prefix that enters this place. */
    protected abstract enter(): string[];

    /** Runs a command here (bounded; throws on failure unless allowFailure). */
    run(argv: readonly string[], opts: RunOptions = {}): RunResult {
        return run([...this.enter(), ...argv], opts);
    }

    /** Runs a shell snippet here with bash. */
    sh(script: string, opts: RunOptions = {}): RunResult {
        return this.run(["bash", "-c", script], opts);
    }

    /** True when something here listens on TCP `port` (any address), per `ss`. */
    listening(port: number): boolean {
        return this.run(["ss", "-Hltn", `sport = :${port}`], { allowFailure: true }).stdout.trim() !== "";
    }

    /** Starts a background process here, registered for cleanup by PID. */
    spawn(argv: readonly string[], env: Readonly<Record<string, string>> = {}): Background {
        return this.lab.spawnTracked([...this.enter(), ...argv], env);
    }

    /**
     * Like {@link spawn}, but the process appends its stdout and stderr to `logFile` (a path seen
     * alike here and on the machine, e.g. under `lab.dir`) instead of a pipe: a chatty daemon never
     * blocks on a full pipe (64 KiB) that synchronous test code leaves undrained. Same PID (exec).
     */
    spawnLogged(argv: readonly string[], logFile: string, env: Readonly<Record<string, string>> = {}): Background {
        return this.spawn(["sh", "-c", 'exec "$@" >>"$0" 2>&1', logFile, ...argv], env);
    }
}

/** A network namespace. */
export class Netns extends Place {
    protected enter(): string[] {
        return ["ip", "netns", "exec", this.ns];
    }
}

/** Directories a {@link Host} gets private copy-on-write views of. */
const OVERLAID_DIRS = ["/etc", "/usr/local", "/var/lib"];

/**
 * Directories every {@link Host} gets empty and private, as on a fresh server: homemail writes
 * /opt/homemail and the Mailu data root /srv/mailu, containerd creates /opt/containerd, and none of
 * it may land on (or start from) the machine's own /opt and /srv.
 */
const EMPTY_DIRS = ["/opt", "/srv"];

/** How a {@link Host}'s anchor enters its network namespace. */
export type HostEntry = "ip-netns-exec" | "nsenter";

export interface HostOptions {
    /**
     * How the anchor enters the network namespace. `"ip-netns-exec"` (default) mounts a fresh /sys
     * of the namespace; `"nsenter"` (`nsenter --net=/run/netns/X unshare --mount`) keeps the
     * machine's /sys with its cgroup mounts, which dockerd needs ("Devices cgroup isn't mounted"
     * under `ip netns exec`).
     */
    readonly entry?: HostEntry;
    /**
     * Directories hidden behind empty private directories of this host (bind mounts from its scratch
     * directory, on the machine's file system), e.g. `/home` or `/root`, besides /opt and /srv,
     * which every host gets. Default: none.
     */
    readonly privateDirs?: readonly string[];
}

/**
 * A network namespace plus its own mount namespace (private /etc, /usr/local, /var/lib overlays, empty /opt and /srv, and
 * a tmpfs /run, plus any {@link HostOptions.privateDirs}), kept alive by an anchor process that dies
 * with the test process (it waits on a pipe from us).
 */
export class Host extends Place {
    private anchorPid = 0;
    private nsIds = { net: "", mnt: "" };
    /** This host's scratch directory on the machine (overlay layers, private dirs). */
    public root = "";

    /** Starts the anchor; called by {@link Lab.host}. */
    start(root: string, opts: HostOptions = {}): void {
        this.root = root;
        const mounts = OVERLAID_DIRS.map((dir, i) => {
            const base = path.join(root, `overlay${i}`);
            for (const sub of ["upper", "work"]) mkdirSync(path.join(base, sub), { recursive: true });
            return `mount -t overlay overlay -o lowerdir=${dir},upperdir=${base}/upper,workdir=${base}/work ${dir}`;
        });
        const binds = [...new Set([...EMPTY_DIRS, ...(opts.privateDirs ?? [])])].map((dir) => {
            const src = this.privateDir(dir);
            mkdirSync(src, { recursive: true, mode: 0o755 });
            return `mkdir -p ${dir} && mount --bind ${src} ${dir}`;
        });
        const nsenter = opts.entry === "nsenter";
        const script = [
            "set -e",
            ...mounts,
            // Our copies of the machine's /run/netns mounts would pin other labs' namespaces alive.
            ...(nsenter ? ["umount -R -l /run/netns 2>/dev/null || true"] : []),
            "mount -t tmpfs -o mode=0755 tmpfs /run",
            ...binds,
            `touch ${root}/ready`,
            // Wait until the test process closes our stdin (cleanup, or the test process died).
            "read -r _ || true",
        ].join("\n");
        const enterNet = nsenter ? ["nsenter", `--net=/run/netns/${this.ns}`] : ["ip", "netns", "exec", this.ns];
        const anchor = this.lab.spawnTracked([...enterNet, "unshare", "--mount", "--propagation", "private", "sh", "-c", script], {}, true);
        this.anchorPid = anchor.pid;
        // A file, not the anchor's stdout: our waits are synchronous, so no stdout event arrives meanwhile.
        waitFor(() => existsSync(path.join(root, "ready")) || !alive(anchor.pid), 10_000, `host ${this.name}: mount namespace did not come up`);
        if (!existsSync(path.join(root, "ready"))) throw new Error(`host ${this.name}: mount namespace setup failed: ${anchor.output()}`);
        this.nsIds = { net: nsId(anchor.pid, "net"), mnt: nsId(anchor.pid, "mnt") };
    }

    /** The machine path behind one of {@link HostOptions.privateDirs} (e.g. `/home` -> `<root>/private_home`). */
    privateDir(dir: string): string {
        return path.join(this.root, `private${dir.replace(/\//g, "_")}`);
    }

    /** PID of the process that holds this host's mount namespace. */
    get anchor(): number {
        return this.anchorPid;
    }

    /**
     * PIDs of every process in this host's network or mount namespace (daemons a daemon started,
     * e.g. containerd and its shims), the anchor excluded.
     */
    processes(): number[] {
        const { net, mnt } = this.nsIds;
        if (!net) return [];
        return readdirSync("/proc")
            .filter((d) => /^\d+$/.test(d) && Number(d) !== this.anchorPid && Number(d) !== process.pid)
            .filter((d) => nsId(d, "net") === net || nsId(d, "mnt") === mnt)
            .map(Number);
    }

    protected enter(): string[] {
        return ["nsenter", "-t", String(this.anchorPid), "--mount", "--net"];
    }

    /** Installs bytes as a file at an absolute path inside this host (private view). */
    install(file: string, content: string | Buffer, mode = "0644"): void {
        // cat, not `install /dev/stdin`: our stdin is a socket, which /dev/stdin cannot reopen.
        this.run(["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"', "install", file, mode], { input: content });
    }

    /** Empties /run as a reboot would (the tmpfs is this host's own). */
    wipeRun(): void {
        this.sh("find /run -mindepth 1 -delete");
    }
}

/** Polls `check` every 50 ms (synchronously: background processes' output events wait meanwhile; see {@link waitForAsync}) until it is true or `timeoutMs` passed (then throws `message`). */
export function waitFor(check: () => boolean, timeoutMs: number, message: string): void {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
        if (Date.now() > deadline) throw new Error(message);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
}

/**
 * Like {@link waitFor}, but awaits between polls (every 50 ms), so the event loop runs meanwhile: use
 * it when `check` reads what a {@link Background} wrote through its pipes ({@link Background.output}),
 * which only arrives as events. Rejects with `message` once `timeoutMs` passed.
 */
export async function waitForAsync(check: () => boolean, timeoutMs: number, message: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
        if (Date.now() > deadline) throw new Error(message);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

export class Lab {
    /** Namespace/interface name prefix of this run: `hm-<tag>-<pid>`. */
    public readonly prefix: string;
    /** Private scratch directory of this run (removed by cleanup). */
    public readonly dir: string;
    private readonly namespaces: string[] = [];
    private readonly processes: Background[] = [];
    private readonly extraPids = new Set<number>();
    private readonly hosts: Host[] = [];
    private readonly cleanups: (() => void)[] = [];
    private linkCount = 0;

    constructor(tag: string) {
        if (!/^[a-z0-9]{1,4}$/.test(tag)) throw new Error("lab tag: 1-4 lowercase letters/digits (names must stay short)");
        this.prefix = `hm-${tag}-${process.pid}`;
        Lab.removeStale(tag);
        this.dir = mkdtempSync(path.join(tmpdir(), `${this.prefix}-`));
    }

    /**
     * Removes what earlier runs of this tag left when their test process died (a crash, SIGKILL):
     * by PID, every process in their cgroups (a dockerd's containers) and in their namespaces
     * (daemons, shims); then the namespaces `hm-<tag>-<pid>-*`, the cgroups and the scratch dirs.
     */
    static removeStale(tag: string): void {
        const staleName = new RegExp(`^hm-${tag}-(\\d+)-`);
        const isStale = (name: string) => {
            const m = staleName.exec(name);
            return m !== null && !existsSync(`/proc/${m[1]}`);
        };
        for (const dir of cgroupRoots().flatMap((root) => readdirSync(root).filter(isStale).map((d) => path.join(root, d)))) {
            for (const pid of cgroupTasks(dir)) killAndWait(pid);
            removeCgroupTree(dir);
        }
        const list = run(["ip", "netns", "list"], { allowFailure: true }).stdout;
        for (const ns of list.split("\n").map((l) => l.split(" ")[0]).filter(isStale)) {
            const pids = run(["ip", "netns", "pids", ns], { allowFailure: true }).stdout.split(/\s+/).filter(Boolean);
            for (const pid of pids) killAndWait(Number(pid));
            run(["ip", "netns", "delete", ns], { allowFailure: true });
        }
        for (const d of readdirSync(tmpdir()).filter(isStale)) rmSync(path.join(tmpdir(), d), { recursive: true, force: true });
    }

    /** Creates a network namespace with loopback up. */
    netns(name: string): Netns {
        const ns = this.createNs(name);
        return new Netns(this, ns, name);
    }

    /** Creates a network namespace with its own mount namespace (see {@link Host}). */
    host(name: string, opts: HostOptions = {}): Host {
        const ns = this.createNs(name);
        const host = new Host(this, ns, name);
        const root = path.join(this.dir, name);
        mkdirSync(root, { recursive: true });
        this.hosts.push(host);
        host.start(root, opts);
        return host;
    }

    private createNs(name: string): string {
        const ns = `${this.prefix}-${name}`;
        run(["ip", "netns", "add", ns]);
        this.namespaces.push(ns);
        run(["ip", "-n", ns, "link", "set", "lo", "up"]);
        return ns;
    }

    /**
     * A veth pair between two places, each end named and addressed (address optional, CIDR form),
     * brought up. Returns nothing: ends are addressed by the names given.
     */
    link(a: Place, aIf: string, aAddr: string | undefined, b: Place, bIf: string, bAddr: string | undefined, mtu = 1500): void {
        // Temporary names in the root namespace: unique per run and link, renamed when moved.
        const n = this.linkCount++;
        const tmpA = `hm${process.pid}l${n}a`.slice(0, 15);
        const tmpB = `hm${process.pid}l${n}b`.slice(0, 15);
        run(["ip", "link", "add", tmpA, "mtu", String(mtu), "type", "veth", "peer", "name", tmpB, "mtu", String(mtu)]);
        run(["ip", "link", "set", tmpA, "netns", a.ns, "name", aIf]);
        run(["ip", "link", "set", tmpB, "netns", b.ns, "name", bIf]);
        for (const [place, ifName, addr] of [[a, aIf, aAddr], [b, bIf, bAddr]] as const) {
            if (addr) run(["ip", "-n", place.ns, "address", "add", addr, "dev", ifName]);
            run(["ip", "-n", place.ns, "link", "set", ifName, "up"]);
        }
    }

    /** Starts argv in the background (own process group), tracked for cleanup. */
    spawnTracked(argv: readonly string[], env: Readonly<Record<string, string>> = {}, keepStdinOpen = false): Background {
        const child = spawn(argv[0], argv.slice(1), {
            env: { ...process.env, ...env },
            stdio: [keepStdinOpen ? "pipe" : "ignore", "pipe", "pipe"],
            detached: true,
        });
        let out = "";
        child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
        if (child.pid === undefined) throw new Error(`could not start ${argv.join(" ")}`);
        const bg: Background = { pid: child.pid, child, output: () => out };
        this.processes.push(bg);
        return bg;
    }

    /** Registers a PID started indirectly (e.g. wireguard-go started by wg-quick) for cleanup. */
    adopt(pid: number): void {
        this.extraPids.add(pid);
    }

    /** Stops one tracked process (SIGTERM, then SIGKILL after 2 s). */
    stop(pid: number): void {
        killAndWait(pid);
        this.extraPids.delete(pid);
    }

    /**
     * Registers a step for {@link cleanup}, run before the tracked processes are killed, in reverse
     * order of registration (e.g. stop containers through their engine). A failing step is logged
     * and the rest still run.
     */
    onCleanup(fn: () => void): void {
        this.cleanups.push(fn);
    }

    /** Removes everything this lab created. Safe to call twice and after partial setup. */
    cleanup(): void {
        for (const fn of this.cleanups.reverse()) {
            try {
                fn();
            } catch (err) {
                process.stderr.write(`lab cleanup step failed (continuing): ${String(err)}\n`);
            }
        }
        this.cleanups.length = 0;
        for (const pid of this.extraPids) killAndWait(pid);
        this.extraPids.clear();
        for (const bg of this.processes.reverse()) {
            bg.child.stdin?.end();
            killAndWait(bg.pid, true);
        }
        this.processes.length = 0;
        // Whatever a daemon left in a host's namespaces (e.g. a containerd-shim), by PID.
        for (const host of this.hosts) for (const pid of host.processes()) killAndWait(pid);
        this.hosts.length = 0;
        for (const ns of this.namespaces.reverse()) run(["ip", "netns", "delete", ns], { allowFailure: true });
        this.namespaces.length = 0;
        if (existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
    }

    /** Namespaces still present that this lab created (for a leak check). */
    leftovers(): string[] {
        const list = run(["ip", "netns", "list"], { allowFailure: true }).stdout;
        return list.split("\n").filter((l) => l.startsWith(`${this.prefix}-`));
    }
}

/** Directories of the machine's cgroup hierarchies (each v1 controller, or the v2 root). */
export function cgroupRoots(): string[] {
    const base = "/sys/fs/cgroup";
    if (!existsSync(base)) return [];
    if (existsSync(path.join(base, "cgroup.controllers"))) return [base];
    return readdirSync(base, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => path.join(base, e.name));
}

/** `parent` (e.g. `/hm-dkr-123-vps`) in every cgroup hierarchy where it exists. */
export function cgroupDirs(parent: string): string[] {
    return cgroupRoots()
        .map((root) => path.join(root, parent))
        .filter((d) => existsSync(d));
}

/** PIDs in a cgroup and all its children. */
function cgroupTasks(dir: string): number[] {
    const own = (() => {
        try {
            return readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
        } catch {
            return [];
        }
    })();
    const children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
    return [...own, ...children.flatMap((e) => cgroupTasks(path.join(dir, e.name)))];
}

/** Removes a cgroup directory and its children, bottom-up (only empty cgroups can go). */
export function removeCgroupTree(dir: string): void {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
    try {
        rmdirSync(dir);
    } catch {
        /* still busy: the leak checks report it */
    }
}

/** The namespace identity (`net:[4026...]`) of a process, "" when it is gone. */
function nsId(pid: number | string, kind: "net" | "mnt"): string {
    try {
        return readlinkSync(`/proc/${pid}/ns/${kind}`);
    } catch {
        return "";
    }
}

/** True while pid runs (a zombie, exited but not yet reaped by us, counts as gone). */
export function alive(pid: number): boolean {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
    } catch {
        return false;
    }
}

function killAndWait(pid: number, group = false): void {
    const target = group ? -pid : pid;
    for (const [signal, waitMs] of [["SIGTERM", 2000], ["SIGKILL", 2000]] as const) {
        try {
            process.kill(target, signal);
        } catch {
            return;
        }
        const deadline = Date.now() + waitMs;
        while (alive(pid) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        if (!alive(pid)) return;
    }
}
