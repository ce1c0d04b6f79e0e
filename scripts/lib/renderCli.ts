/**
 * The `npm run render` command as a function, so tests call it in-process (a process per case would
 * cost minutes over the invalid-config corpus). scripts/render.ts is the thin shell around it.
 * Returns the exit status: 0 ok, 2 invalid config, stack file or arguments, 1 anything else.
 */
import * as path from "node:path";
import { RecordedResource, REPO_ROOT, runProgram } from "./mockEngine";
import { renderDocuments } from "./renderDocuments";
import { isStackName, readStackConfig, StackConfig, StackFileError } from "./stackFile";
import { writeOutTree } from "./writeOut";
import { UsageError, flagValue } from "./cliArgs";

export { UsageError };

export const RENDER_USAGE = "usage: npm run render -- [--stack NAME] [--out DIR] [--include-secrets]";

interface Args {
    stack: string;
    out: string;
    includeSecrets: boolean;
    help: boolean;
}


export function parseRenderArgs(argv: readonly string[]): Args {
    const args: Args = { stack: "dev", out: "out", includeSecrets: false, help: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => flagValue(argv, i++);
        if (a === "--stack") args.stack = value();
        else if (a === "--out") args.out = value();
        else if (a === "--include-secrets") args.includeSecrets = true;
        else if (a === "--help" || a === "-h") args.help = true;
        else throw new UsageError(`unknown argument ${a} (${RENDER_USAGE})`);
    }
    // The stack name becomes a directory under --out that is wiped first: `..` would wipe --out's parent.
    if (!isStackName(args.stack)) throw new UsageError(`--stack: "${args.stack}" is not a stack name (letters, digits, - _ . and a letter or digit first)`);
    return args;
}

export interface RenderDeps {
    /** The @pulumi/pulumi instance the program imports. */
    readonly pulumi: typeof import("@pulumi/pulumi");
    /** Imports the program (main.ts, which loads index.ts). */
    readonly load: () => Promise<Record<string, unknown>>;
    /** Reads a stack's config; default: Pulumi.<stack>.yaml of this repo. */
    readonly readConfig?: (stack: string) => StackConfig;
    readonly stdout?: (text: string) => void;
    readonly stderr?: (text: string) => void;
    readonly onResource?: (r: RecordedResource) => void;
}

/** A problem the user can fix (exit 2), as opposed to a bug (exit 1). */
function isUserError(pulumi: RenderDeps["pulumi"], err: unknown): boolean {
    return err instanceof UsageError || err instanceof StackFileError || (err instanceof Error && (err.name === "RunError" || err.name === "StackFileError" || pulumi.RunError.isInstance(err)));
}

export async function renderCli(argv: readonly string[], deps: RenderDeps): Promise<number> {
    const stderr = deps.stderr ?? ((t) => process.stderr.write(t));
    const started = process.hrtime.bigint();
    try {
        const args = parseRenderArgs(argv);
        if (args.help) {
            (deps.stdout ?? ((t) => process.stdout.write(t)))(`${RENDER_USAGE}\n`);
            return 0;
        }
        const config = (deps.readConfig ?? ((s) => readStackConfig(REPO_ROOT, s)))(args.stack);
        const run = await runProgram({ pulumi: deps.pulumi, project: config.project, stack: args.stack, config: config.values, secretKeys: config.secretKeys, load: deps.load, onResource: deps.onResource });
        const zones = JSON.parse(config.values[`${config.project}:cloudflareZones`] ?? "{}") as Record<string, string>;
        const zoneNames = Object.fromEntries(Object.entries(zones).map(([name, id]) => [id, name.toLowerCase()]));
        const documents = renderDocuments({ values: config.values, secretKeys: config.secretKeys, project: config.project, stack: args.stack }, run);
        const root = writeOutTree(path.resolve(args.out), args.stack, run, zoneNames, args.includeSecrets, documents);
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        stderr(`render: ${run.resources.length} resources -> ${path.relative(process.cwd(), root) || root} in ${ms.toFixed(0)} ms${args.includeSecrets ? " (WITH secret fixture values: labs only)" : ""}\n`);
        return 0;
    } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        stderr(`render: ${message}\n`);
        return isUserError(deps.pulumi, err) ? 2 : 1;
    }
}
