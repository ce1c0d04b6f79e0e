/**
 * A throwaway clone of this checkout in which changes can be committed and diffed, as a user would:
 * `git clone`, then this checkout's working tree (uncommitted edits included) copied over and
 * committed as the starting point. node_modules is this checkout's, by symlink, so nothing installs.
 * Used by the diff acceptance test and by `npm run blast-radius`.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "./mockEngine";

/** Commits in the clone need an identity and must not try to sign. */
const GIT_CONFIG = ["-c", "user.name=homemail scratch", "-c", "user.email=scratch@example.invalid", "-c", "commit.gpgsign=false"];

export interface ScratchClone {
    readonly dir: string;
    /** Runs git in the clone; throws with git's message on failure. */
    git(...args: string[]): string;
    /** Commits everything in the working tree; returns the commit id. */
    commitAll(message: string): string;
    /** Rewrites a file of the clone through a function of its text. */
    edit(file: string, change: (text: string) => string): void;
    dispose(): void;
}

function gitIn(dir: string, args: readonly string[]): string {
    const r = spawnSync("git", ["-C", dir, ...GIT_CONFIG, ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed in ${dir}: ${r.stderr.trim()}`);
    return r.stdout.trim();
}

export function makeScratchClone(source: string = REPO_ROOT): ScratchClone {
    const tmp = mkdtempSync(path.join(tmpdir(), "homemail-scratch-"));
    const dir = path.join(tmp, "repo");
    const clone: ScratchClone = {
        dir,
        git: (...args) => gitIn(dir, args),
        commitAll(message) {
            gitIn(dir, ["add", "-A"]);
            gitIn(dir, ["commit", "-q", "--allow-empty", "-m", message]);
            return gitIn(dir, ["rev-parse", "HEAD"]);
        },
        edit(file, change) {
            const target = path.join(dir, file);
            writeFileSync(target, change(readFileSync(target, "utf8")));
        },
        dispose: () => rmSync(tmp, { recursive: true, force: true }),
    };
    try {
        gitIn(tmp, ["clone", "--quiet", source, dir]);
        // The working tree as it is now, so uncommitted work is what gets exercised.
        const tracked = gitIn(source, ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]).split("\0").filter(Boolean);
        for (const f of tracked) {
            const from = path.join(source, f);
            if (existsSync(from)) cpSync(from, path.join(dir, f), { recursive: false });
            else rmSync(path.join(dir, f), { force: true });
        }
        // The .gitignore's `node_modules/` matches directories only, not this symlink.
        mkdirSync(path.join(dir, ".git", "info"), { recursive: true });
        appendFileSync(path.join(dir, ".git", "info", "exclude"), "/node_modules\n");
        symlinkSync(realpathSync(path.join(source, "node_modules")), path.join(dir, "node_modules"), "dir");
        clone.commitAll("scratch: the working tree of the source checkout");
    } catch (err) {
        clone.dispose();
        throw err;
    }
    return clone;
}
