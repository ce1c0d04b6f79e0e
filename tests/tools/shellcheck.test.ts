/**
 * Every shell script in assets/ (found by its shebang or a `shellcheck shell=` directive, not by a
 * list) is clean under shellcheck, following `source` directives relative to the script.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../helpers/stack";

function filesUnder(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
        const full = path.join(dir, name);
        return statSync(full).isDirectory() ? filesUnder(full) : [full];
    });
}

function isShellScript(file: string): boolean {
    const head = readFileSync(file, "utf8").slice(0, 200);
    return /^#!.*\b(ba|da)?sh\b/.test(head) || /^# shellcheck shell=/m.test(head);
}

const scripts = filesUnder(path.join(REPO_ROOT, "assets")).filter(isShellScript).sort();

describe("shellcheck over assets/", () => {
    it("finds the host scripts", () => {
        const names = scripts.map((f) => path.relative(REPO_ROOT, f));
        expect(names).toEqual(expect.arrayContaining(["assets/egress/home.sh", "assets/egress/vps.sh", "assets/egress/lib.sh", "assets/wireguard/preflight.sh"]));
    });

    it.each(scripts.map((f) => [path.relative(REPO_ROOT, f), f]))("%s is shellcheck clean", (_name, file) => {
        const r = spawnSync("shellcheck", ["--external-sources", "--source-path=SCRIPTDIR", file], { encoding: "utf8", timeout: 60_000 });
        if (r.error) throw new Error(`shellcheck could not run (install the shellcheck package): ${r.error.message}`);
        expect(r.stdout + r.stderr).toBe("");
        expect(r.status).toBe(0);
    });
});
