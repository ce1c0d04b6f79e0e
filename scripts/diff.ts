/**
 * `npm run diff -- [--stack NAME] --base <git-ref> [--format text|markdown|json]`
 *
 * What a change does, offline: renders the stack at the base ref (a temporary git worktree) and in
 * the working tree with `npm run render` (secrets redacted; never --include-secrets), and prints the
 * host files, DNS records, resources and stack outputs that were added, changed or removed.
 * Exit 0: nothing changed; 1: something did; 2: error (one line, no stack trace).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseArgs as parseCliArgs } from "node:util";
import { addWorktree, DiffError, fileAt, installDependencies, lastLines, resolveCommit, shortCommit } from "./lib/baseCheckout";
import { run, stopAll } from "./lib/childProcesses";
import { compareRenders, isEmptyDiff } from "./lib/compareRenders";
import { DiffHeader, formatMarkdown, formatText } from "./lib/formatDiff";
import { REPO_ROOT } from "./lib/mockEngine";
import { EMPTY_TREE, readRenderTree, RenderTree } from "./lib/renderTree";
import { isStackName } from "./lib/stackFile";
import { stableJson } from "./lib/writeOut";

const FORMATS = ["text", "markdown", "json"] as const;
type Format = (typeof FORMATS)[number];

interface Args {
    stack: string;
    base: string;
    format: Format;
}

const USAGE = "usage: npm run diff -- [--stack NAME] --base <git-ref> [--format text|markdown|json]";
const OPTIONS = {
    stack: { type: "string", default: "dev" },
    base: { type: "string" },
    format: { type: "string", default: "text" },
    help: { type: "boolean", short: "h" },
} as const;

function parseArgs(argv: string[]): Args {
    let parsed: ReturnType<typeof parseCliArgs<{ options: typeof OPTIONS }>>["values"];
    try {
        parsed = parseCliArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
    } catch (err) {
        throw new DiffError(`${(err as Error).message} (${USAGE})`);
    }
    if (parsed.help) {
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
    }
    const format = parsed.format as Format;
    if (!FORMATS.includes(format)) throw new DiffError(`--format must be one of ${FORMATS.join(", ")}`);
    if (!parsed.base) throw new DiffError(`--base is required (${USAGE})`);
    if (!isStackName(parsed.stack)) throw new DiffError(`--stack: "${parsed.stack}" is not a stack name (letters, digits, - _ . and a letter or digit first)`);
    return { stack: parsed.stack, base: parsed.base, format };
}

/** Everything to undo, run once, on success, failure or interrupt. */
const cleanups: (() => void)[] = [];
function cleanUp(): void {
    stopAll();
    for (const c of cleanups.splice(0).reverse()) {
        try {
            c();
        } catch {
            // Best effort: the next step may still succeed.
        }
    }
}

async function render(checkout: string, stack: string, out: string, label: string): Promise<RenderTree> {
    // The checkout's own `npm run render`, so a change to the renderer itself is part of the diff.
    const r = await run("npm", ["run", "--silent", "render", "--", "--stack", stack, "--out", out], checkout);
    if (r.code !== 0) throw new DiffError(`rendering ${label} failed: ${lastLines(r.stderr).replace(/^render: /, "")}`);
    return readRenderTree(path.join(out, stack));
}

async function main(): Promise<number> {
    const args = parseArgs(process.argv.slice(2));
    const commit = resolveCommit(REPO_ROOT, args.base);
    const short = shortCommit(REPO_ROOT, commit);
    const stackFile = `Pulumi.${args.stack}.yaml`;
    const tmp = mkdtempSync(path.join(tmpdir(), "homemail-diff-"));
    cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));

    const head = render(REPO_ROOT, args.stack, path.join(tmp, "head"), "the working tree");
    head.catch(() => undefined); // awaited below; do not let an early failure go unhandled meanwhile
    let note: string | undefined;
    let base: Promise<RenderTree>;
    if (fileAt(REPO_ROOT, commit, stackFile) === undefined) {
        note = `${stackFile} does not exist at ${args.base}: everything is new.`;
        base = Promise.resolve(EMPTY_TREE);
    } else {
        const checkout = addWorktree(REPO_ROOT, commit, path.join(tmp, "base"));
        cleanups.push(() => checkout.dispose());
        base = installDependencies(REPO_ROOT, checkout, (l) => process.stderr.write(`${l}\n`)).then(() =>
            render(checkout.dir, args.stack, path.join(tmp, "out-base"), `${args.base} (${short})`),
        );
    }
    const [before, after] = await Promise.all([base, head]);
    const diff = compareRenders(before, after);
    const header: DiffHeader = { stack: args.stack, base: args.base === short ? short : `${args.base} (${short})`, head: "working tree", note };
    const output =
        args.format === "json"
            ? stableJson({ stack: args.stack, base: { ref: args.base, commit }, head: "working tree", note: note ?? null, changes: diff })
            : args.format === "markdown"
              ? formatMarkdown(diff, header)
              : formatText(diff, header);
    process.stdout.write(output);
    return isEmptyDiff(diff) ? 0 : 1;
}

let stopping = false;
function interrupted(signal: string): void {
    // A terminal's Ctrl-C may arrive twice (directly and relayed by tsx): handle it once, keep listening.
    if (stopping) return;
    stopping = true;
    cleanUp();
    process.stderr.write(`diff: interrupted (${signal}); temporary checkout removed\n`);
    process.exit(2);
}
process.on("SIGINT", () => interrupted("SIGINT"));
process.on("SIGTERM", () => interrupted("SIGTERM"));

main().then(
    (code) => {
        cleanUp();
        process.exit(code);
    },
    (err: unknown) => {
        cleanUp();
        const message = err instanceof DiffError ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        process.stderr.write(`diff: ${message.split("\n").join(" ")}\n`);
        process.exit(2);
    },
);
