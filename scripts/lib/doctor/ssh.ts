/**
 * Read-only commands on the hosts over the system `ssh` client (so the user's agent, known_hosts and
 * ssh_config apply; BatchMode: never a prompt), as root through `sudo -n` for a non-root user.
 */
import { spawn } from "node:child_process";
import type { SshTarget } from "../../../components/config";

export type HostRole = "vps" | "home";

export interface SshResult {
    readonly status: number;
    readonly stdout: string;
    readonly stderr: string;
}

export type SshRunner = (host: HostRole, argv: readonly string[]) => Promise<SshResult>;

/** What a fix puts before a root command for this target's user (`sudo ` unless it is root). */
export const sudoFor = (t: SshTarget) => (t.user === "root" ? "" : "sudo ");

/** POSIX shell quoting of one word. */
export const shellQuote = (word: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/** The ssh argv for one command on a target (pure: unit-tested). */
export function sshArgv(target: SshTarget, argv: readonly string[], opts: { configFile?: string; timeoutMs: number }): string[] {
    const remote = [...(target.user === "root" ? [] : ["sudo", "-n"]), ...argv].map(shellQuote).join(" ");
    return [
        ...(opts.configFile ? ["-F", opts.configFile] : []),
        "-o", "BatchMode=yes",
        "-o", `ConnectTimeout=${Math.max(1, Math.ceil(opts.timeoutMs / 1000))}`,
        "-p", String(target.port),
        "-l", target.user,
        target.host,
        "--",
        remote,
    ];
}

export function sshRunner(targets: Record<HostRole, SshTarget>, opts: { configFile?: string; timeoutMs: number }): SshRunner {
    return (host, argv) =>
        new Promise((resolve) => {
            const child = spawn("ssh", sshArgv(targets[host], argv, opts), { stdio: ["ignore", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs * 4);
            child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            child.on("error", (err) => {
                clearTimeout(timer);
                resolve({ status: 255, stdout, stderr: `ssh: ${err.message}` });
            });
            child.on("close", (code) => {
                clearTimeout(timer);
                resolve({ status: code ?? 255, stdout, stderr });
            });
        });
}
