/**
 * Render outputs of the real program for the WKD tool tests: the dev stack through `npm run render`
 * itself, and variants of it (the dev stack with some keys changed) through the same mock engine and
 * out-tree writer in-process. Never hand-written copies.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import type { ConfigChange } from "./stack";
import { REPO_ROOT, stackInput, withConfig } from "./stack";
import { runDevProgram } from "./program";

/** `npm run render -- --out <outDir>` for the dev stack; returns `<outDir>/dev`. */
export function renderDevStack(outDir: string): string {
    const r = spawnSync(path.join(REPO_ROOT, "node_modules/.bin/tsx"), [path.join(REPO_ROOT, "scripts/render.ts"), "--out", outDir], {
        cwd: REPO_ROOT,
        encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`npm run render failed (${r.status}): ${r.stderr}`);
    return path.join(outDir, "dev");
}

/** The dev stack with `changes`, rendered by the real program into `<outDir>/<name>`; returns that directory. */
export async function renderVariant(outDir: string, name: string, changes: readonly ConfigChange[]): Promise<string> {
    const input = withConfig(changes, stackInput());
    const run = await runDevProgram(input);
    const zones = JSON.parse(input.values["homemail:cloudflareZones"]) as Record<string, string>;
    const { writeOutTree } = await import("../../scripts/lib/writeOut");
    return writeOutTree(outDir, name, run, Object.fromEntries(Object.entries(zones).map(([n, id]) => [id, n])), false);
}

/** Where the VPS's WKD site lives inside a render output. */
export function wkdDirIn(renderRoot: string): string {
    return path.join(renderRoot, "hosts", "vps", "opt", "homemail", "gateway", "wkd");
}
