/**
 * `npm run render -- [--stack NAME] [--out DIR] [--include-secrets]`
 *
 * Runs the real program (main.ts, then index.ts) under the Pulumi mock engine, offline, and writes every host file, DNS
 * record, resource and output to DIR/<stack>/ (ARCHITECTURE.md, "Offline render"). Exit 0 on
 * success, 2 on invalid config or usage (one line per problem, no stack trace), 1 otherwise.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { runProgram, REPO_ROOT } from "./lib/mockEngine";
import { renderDocuments } from "./lib/renderDocuments";
import { readStackConfig } from "./lib/stackFile";
import { writeOutTree } from "./lib/writeOut";

interface Args {
    stack: string;
    out: string;
    includeSecrets: boolean;
}

function parseArgs(argv: string[]): Args {
    const args: Args = { stack: "dev", out: "out", includeSecrets: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) throw new UsageError(`${a} needs a value`);
            return v;
        };
        if (a === "--stack") args.stack = value();
        else if (a === "--out") args.out = value();
        else if (a === "--include-secrets") args.includeSecrets = true;
        else if (a === "--help" || a === "-h") {
            process.stdout.write("usage: npm run render -- [--stack NAME] [--out DIR] [--include-secrets]\n");
            process.exit(0);
        } else throw new UsageError(`unknown argument ${a}`);
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(args.stack)) throw new UsageError(`bad stack name ${args.stack}`);
    return args;
}

class UsageError extends Error {}

async function main(): Promise<void> {
    const started = process.hrtime.bigint();
    const args = parseArgs(process.argv.slice(2));
    const config = readStackConfig(REPO_ROOT, args.stack);
    const run = await runProgram({
        pulumi,
        project: config.project,
        stack: args.stack,
        config: config.values,
        secretKeys: config.secretKeys,
        load: () => import("../main") as Promise<Record<string, unknown>>,
    });
    const zones = JSON.parse(config.values[`${config.project}:cloudflareZones`] ?? "{}") as Record<string, string>;
    const zoneNames = Object.fromEntries(Object.entries(zones).map(([name, id]) => [id, name.toLowerCase()]));
    const documents = renderDocuments({ values: config.values, secretKeys: config.secretKeys, project: config.project, stack: args.stack }, run);
    const root = writeOutTree(path.resolve(args.out), args.stack, run, zoneNames, args.includeSecrets, documents);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    process.stderr.write(`render: ${run.resources.length} resources -> ${path.relative(process.cwd(), root) || root} in ${ms.toFixed(0)} ms${args.includeSecrets ? " (WITH secret fixture values: labs only)" : ""}\n`);
}

main().then(
    () => process.exit(0),
    (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        const isConfig = err instanceof UsageError || (err instanceof Error && (err.name === "RunError" || pulumi.RunError.isInstance(err)));
        process.stderr.write(`render: ${message}\n`);
        process.exit(isConfig ? 2 : 1);
    },
);
