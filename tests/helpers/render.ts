/**
 * Runs `npm run render` (the real CLI, as a user runs it) for a stack into a fresh temporary
 * directory, and reads back its DNS output.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { DnsRecordOut } from "../../scripts/lib/zoneFile";
import { REPO_ROOT } from "./stack";

export interface RenderedStack {
    /** `<out>/<stack>/`. */
    readonly root: string;
    /** dns/records.json. */
    readonly records: DnsRecordOut[];
    /** Zone name -> path of its zone file. */
    readonly zoneFiles: Record<string, string>;
    /** outputs.json (secrets redacted). */
    readonly outputs: Record<string, unknown>;
    /** Removes the temporary directory. */
    cleanup(): void;
}

export function renderStack(stack: string): RenderedStack {
    const out = mkdtempSync(path.join(tmpdir(), `hm-dns-${stack}-`));
    const r = spawnSync(path.join(REPO_ROOT, "node_modules/.bin/tsx"), [path.join(REPO_ROOT, "scripts/render.ts"), "--stack", stack, "--out", out], { cwd: REPO_ROOT, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`render --stack ${stack} failed (${r.status}): ${r.stderr}`);
    const root = path.join(out, stack);
    const dns = path.join(root, "dns");
    const zoneFiles = Object.fromEntries(readdirSync(dns).filter((f) => f.endsWith(".zone")).sort().map((f) => [f.slice(0, -".zone".length), path.join(dns, f)]));
    return {
        root,
        records: JSON.parse(readFileSync(path.join(dns, "records.json"), "utf8")) as DnsRecordOut[],
        zoneFiles,
        outputs: JSON.parse(readFileSync(path.join(root, "outputs.json"), "utf8")) as Record<string, unknown>,
        cleanup: () => rmSync(out, { recursive: true, force: true }),
    };
}
