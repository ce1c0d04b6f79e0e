/**
 * A small network-namespace lab: namespaces and veth links it created itself, processes it started
 * (tracked by PID), and a cleanup that removes exactly those, even after a failure. Addresses are
 * the dev stack's TEST-NET / private ones, inside the namespaces only.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";

export interface Background {
    readonly proc: ChildProcess;
    /** Everything the process printed so far (stdout + stderr). */
    output(): string;
}

export class Lab {
    private readonly namespaces: string[] = [];
    private readonly procs: ChildProcess[] = [];
    private readonly tag: string;

    constructor(tag: string) {
        // Short and unique per run: namespace and interface names stay valid and never collide.
        this.tag = `${tag}${process.pid % 10000}`;
    }

    /** Creates a namespace `<tag>-<role>` with loopback up. */
    ns(role: string): string {
        const name = `${this.tag}-${role}`;
        execFileSync("ip", ["netns", "add", name]);
        this.namespaces.push(name);
        this.exec(name, ["ip", "link", "set", "lo", "up"]);
        return name;
    }

    /** A veth link between two namespaces, each end named and addressed as given (CIDR). */
    link(a: { ns: string; ifname: string; cidr: string }, b: { ns: string; ifname: string; cidr: string }): void {
        const tmpA = `${this.tag}a${this.namespaces.length}`;
        const tmpB = `${this.tag}b${this.namespaces.length}`;
        execFileSync("ip", ["link", "add", tmpA, "type", "veth", "peer", "name", tmpB]);
        for (const [tmp, end] of [[tmpA, a], [tmpB, b]] as const) {
            execFileSync("ip", ["link", "set", tmp, "netns", end.ns]);
            this.exec(end.ns, ["ip", "link", "set", tmp, "name", end.ifname]);
            this.exec(end.ns, ["ip", "addr", "add", end.cidr, "dev", end.ifname]);
            this.exec(end.ns, ["ip", "link", "set", end.ifname, "up"]);
        }
    }

    /** Runs a command in a namespace and returns stdout; throws with stderr on failure. */
    exec(ns: string, argv: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): string {
        const r = spawnSync("ip", ["netns", "exec", ns, ...argv], { encoding: "utf8", input: opts.input, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 30000 });
        if (r.status !== 0) throw new Error(`${argv.join(" ")} in ${ns} failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}`);
        return r.stdout;
    }

    /** Like exec, but returns status and output instead of throwing. */
    run(ns: string, argv: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): { status: number | null; stdout: string; stderr: string } {
        const r = spawnSync("ip", ["netns", "exec", ns, ...argv], { encoding: "utf8", env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 30000 });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    /** Starts a long-running process in a namespace (its own process group, killed in cleanup). */
    start(ns: string, argv: string[]): Background {
        const proc = spawn("ip", ["netns", "exec", ns, ...argv], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
        proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
        this.procs.push(proc);
        return { proc, output: () => out };
    }

    /** Polls until `check` is true (or throws after timeoutMs). */
    async waitFor(what: string, check: () => boolean, timeoutMs = 10000): Promise<void> {
        const until = Date.now() + timeoutMs;
        while (Date.now() < until) {
            if (check()) return;
            await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`timed out waiting for ${what}`);
    }

    /** True when something listens on TCP `port` in the namespace. */
    listening(ns: string, port: number): boolean {
        return this.run(ns, ["ss", "-Hltn", `sport = :${port}`]).stdout.trim() !== "";
    }

    /** Kills every started process group by PID, then deletes every namespace made here. */
    async cleanup(): Promise<void> {
        for (const p of this.procs) {
            if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) {
                try {
                    process.kill(-p.pid, "SIGKILL");
                } catch {
                    /* already gone */
                }
            }
        }
        await Promise.all(this.procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once("exit", r)))));
        for (const ns of this.namespaces.reverse()) spawnSync("ip", ["netns", "del", ns]);
    }
}
