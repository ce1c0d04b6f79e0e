/**
 * `pulumi refresh --preview-only` as the Pulumi Automation API runs it (@pulumi/pulumi/automation,
 * `Stack.previewRefresh`): with `--event-log FILE` and PULUMI_DEBUG_COMMANDS=true, because the
 * per-resource outcome is only there: in CLI 3.276.0 the `--json` steps of a refresh preview say
 * `refresh` with equal old and new states for a resource that would update (only the counts show
 * it). Nothing is changed; the CLI decrypts what its providers need itself and the log carries
 * secrets as "[secret]"; the log goes to a private temp directory, removed afterwards.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

export type RefreshRun =
    | { readonly kind: "no-cli" }
    | { readonly kind: "failed"; readonly status: number; readonly message: string }
    | { readonly kind: "ran"; readonly events: string };

export type RefreshPreview = (stack: string) => Promise<RefreshRun>;

/** The argv after `pulumi` (pure: unit-tested). */
export const refreshArgv = (stack: string, eventLog: string) => ["refresh", "--preview-only", "--stack", stack, "--non-interactive", "--event-log", eventLog];

/** Runs the CLI found on PATH in `cwd` (the project); "no-cli" when there is none. */
export function cliRefreshPreview(cwd: string, timeoutMs: number, cli = "pulumi"): RefreshPreview {
    return (stack) =>
        new Promise((resolve) => {
            const dir = mkdtempSync(path.join(tmpdir(), "homemail-doctor-refresh-"));
            const log = path.join(dir, "events.jsonl");
            const finish = (r: RefreshRun) => {
                rmSync(dir, { recursive: true, force: true });
                resolve(r);
            };
            const child = spawn(cli, refreshArgv(stack, log), { cwd, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, PULUMI_DEBUG_COMMANDS: "true", PULUMI_SKIP_UPDATE_CHECK: "true", NO_COLOR: "1" } });
            let stderr = "";
            const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            child.on("error", (err: NodeJS.ErrnoException) => {
                clearTimeout(timer);
                finish(err.code === "ENOENT" ? { kind: "no-cli" } : { kind: "failed", status: 255, message: err.message });
            });
            child.on("close", (code, signal) => {
                clearTimeout(timer);
                let events = "";
                try {
                    events = readFileSync(log, "utf8");
                } catch {
                    // no log: the CLI stopped before the engine ran
                }
                if (code === 0) return finish({ kind: "ran", events });
                const line = stderr.split("\n").map((l) => l.trim()).find((l) => /^error:/i.test(l)) ?? stderr.trim().split("\n").pop() ?? "";
                finish({ kind: "failed", status: code ?? 255, message: signal ? `killed after ${timeoutMs} ms` : line });
            });
        });
}
