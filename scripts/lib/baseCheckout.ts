/**
 * The base side of `npm run diff`: the repository at a git ref, checked out in a temporary
 * `git worktree` with its own dependencies, and removed again however the run ends.
 */
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readFileSync, realpathSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import * as path from "node:path";
import { run } from "./childProcesses";

/** A failure the user can act on: printed as one line, exit 2. */
export class DiffError extends Error {}

function git(repo: string, args: readonly string[]): { status: number; stdout: string; stderr: string } {
    const r = spawnSync("git", ["-C", repo, ...args], { encoding: "utf8" });
    if (r.error) throw new DiffError(`cannot run git: ${r.error.message}`);
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** The commit a ref names, or a DiffError naming the ref. */
export function resolveCommit(repo: string, ref: string): string {
    if (ref.startsWith("-")) throw new DiffError(`bad git ref "${ref}"`);
    const r = git(repo, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`]);
    if (r.status !== 0) throw new DiffError(`unknown git ref "${ref}": no such commit in ${repo}`);
    return r.stdout.trim();
}

export function shortCommit(repo: string, commit: string): string {
    return git(repo, ["rev-parse", "--short", commit]).stdout.trim() || commit.slice(0, 7);
}

/** The content of a file (relative to `repo`) at a commit, or undefined when it does not exist there. */
export function fileAt(repo: string, commit: string, file: string): string | undefined {
    const r = git(repo, ["cat-file", "blob", `${commit}:./${file}`]);
    return r.status === 0 ? r.stdout : undefined;
}

export interface BaseCheckout {
    /** The project in the checkout: the worktree, or the same subdirectory of it `repo` is of its repository. */
    readonly dir: string;
    /** Removes the worktree (idempotent; also after a failed install). */
    dispose(): void;
}

/** `git worktree add --detach` of `commit` at `dir`. */
export function addWorktree(repo: string, commit: string, dir: string): BaseCheckout {
    const prefix = git(repo, ["rev-parse", "--show-prefix"]).stdout.trim();
    const r = git(repo, ["worktree", "add", "--detach", "--quiet", dir, commit]);
    if (r.status !== 0) throw new DiffError(`git worktree add failed: ${r.stderr.trim().split("\n")[0]}`);
    let disposed = false;
    const project = path.join(dir, prefix);
    return {
        dir: project,
        dispose() {
            if (disposed) return;
            disposed = true;
            // Unlink a reused node_modules first, so nothing below ever walks into the real one.
            const modules = path.join(project, "node_modules");
            if (existsSync(modules) && lstatSync(modules).isSymbolicLink()) unlinkSync(modules);
            if (git(repo, ["worktree", "remove", "--force", "--force", dir]).status !== 0) {
                rmSync(dir, { recursive: true, force: true });
                git(repo, ["worktree", "prune"]);
            }
        },
    };
}

/**
 * Gives the base checkout its dependencies: this checkout's node_modules (a symlink) when the base's
 * package-lock.json is identical to this one's, which takes no time; otherwise its own `npm ci`.
 */
export async function installDependencies(repo: string, base: BaseCheckout, log: (line: string) => void): Promise<"reused" | "installed"> {
    const ours = path.join(repo, "package-lock.json");
    const modules = path.join(repo, "node_modules");
    const theirs = path.join(base.dir, "package-lock.json");
    if (existsSync(ours) && existsSync(theirs) && existsSync(modules) && readFileSync(ours, "utf8") === readFileSync(theirs, "utf8")) {
        symlinkSync(realpathSync(modules), path.join(base.dir, "node_modules"), "dir");
        return "reused";
    }
    log("diff: the base has another package-lock.json: running npm ci there (slower)");
    const r = await run("npm", ["ci", "--no-audit", "--no-fund"], base.dir);
    if (r.code !== 0) throw new DiffError(`npm ci in the base checkout failed: ${lastLines(r.stderr)}`);
    return "installed";
}

/** The meaningful lines of a tool's stderr as one line (npm's own chatter left out). */
export function lastLines(stderr: string): string {
    const lines = stderr
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !/^npm (warn|notice)/i.test(l) && !l.startsWith(">"));
    return lines.join(" ").replace(/\s+/g, " ") || "(no message)";
}
