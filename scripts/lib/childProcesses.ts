/**
 * Long-running children (`npm ci`, `npm run render`) that an interrupt must stop. Each runs in its own
 * process group, so stopping it also stops what it started (npm -> sh -> tsx -> node).
 */
import { ChildProcess, spawn } from "node:child_process";

export interface RunResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

const running = new Set<ChildProcess>();

/** Runs a command to completion, capturing its output. Never throws for a non-zero exit. */
export function run(command: string, args: readonly string[], cwd: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
        running.add(child);
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
        child.on("error", (err) => {
            running.delete(child);
            reject(err);
        });
        child.on("close", (code, signal) => {
            running.delete(child);
            resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
        });
    });
}

/** Stops every running child's process group. */
export function stopAll(): void {
    for (const child of running) {
        try {
            if (child.pid) process.kill(-child.pid, "SIGTERM");
        } catch {
            // Already gone.
        }
    }
}
