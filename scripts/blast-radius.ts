/**
 * `npm run blast-radius -- [--only NAME]`
 *
 * Applies each typical change (stackEdits.ts) to the dev stack in a scratch clone of this checkout,
 * commits it, runs `npm run diff` against the unchanged commit and prints, as a Markdown table, which
 * host files, DNS records, resources and outputs each change touches. Re-run it whenever components
 * change; the README's table is its output.
 */
import { spawnSync } from "node:child_process";
import { BlastRadiusRow, blastRadiusTable } from "./lib/blastRadius";
import type { RenderDiff } from "./lib/compareRenders";
import { makeScratchClone } from "./lib/scratchClone";
import { applyStackEdit, BLAST_RADIUS_EDITS } from "./lib/stackEdits";

function main(): number {
    const argv = process.argv.slice(2);
    const only = argv[0] === "--only" ? argv[1] : undefined;
    if (argv.length > 0 && (only === undefined || argv.length !== 2)) {
        process.stderr.write("usage: npm run blast-radius -- [--only NAME]\n");
        return 2;
    }
    const edits = BLAST_RADIUS_EDITS.filter((e) => only === undefined || e.name === only);
    if (edits.length === 0) {
        process.stderr.write(`blast-radius: no change named "${only}" (one of: ${BLAST_RADIUS_EDITS.map((e) => e.name).join(", ")})\n`);
        return 2;
    }
    const clone = makeScratchClone();
    try {
        const base = clone.git("rev-parse", "HEAD");
        const rows: BlastRadiusRow[] = edits.map((edit, i) => {
            clone.git("checkout", "-q", "-B", `blast-${i}`, base);
            clone.edit("Pulumi.dev.yaml", (t) => applyStackEdit(t, edit));
            clone.commitAll(edit.change);
            const r = spawnSync("npm", ["run", "--silent", "diff", "--", "--base", base, "--format", "json"], { cwd: clone.dir, encoding: "utf8" });
            if (r.status !== 0 && r.status !== 1) {
                const line = r.stderr.split("\n").find((l) => l.startsWith("diff: ")) ?? `npm run diff exited ${r.status}`;
                return { edit, result: { error: line.replace(/^diff: /, "") } };
            }
            return { edit, result: (JSON.parse(r.stdout) as { changes: RenderDiff }).changes };
        });
        process.stdout.write(blastRadiusTable(rows));
        return 0;
    } finally {
        clone.dispose();
    }
}

process.exitCode = main();
