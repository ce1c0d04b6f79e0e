/**
 * What the doctor compares the live system with:
 * - the validated model (the stack file through the same loader as `npm run render`);
 * - the render's set (the real program under the mock engine, as `npm run render` runs it): every
 *   DNS record and host file the deploy publishes;
 * - the stack outputs, for values only providers know (DKIM keys, ...): `pulumi stack output --json`
 *   when a Pulumi CLI is on PATH, else `--outputs FILE`; none at all is allowed (those checks skip).
 * Config secrets are never decrypted: the render runs with placeholders, and no check reads a secret.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, Model, parseModel } from "../../../components/config";
import { runProgram, REPO_ROOT } from "../mockEngine";
import { readStackConfig } from "../stackFile";
import { collect } from "../writeOut";
import type { DnsRecordOut } from "../zoneFile";
import { UsageError } from "./args";

export interface RenderSet {
    readonly records: readonly DnsRecordOut[];
    /** Public (non-secret) host files by `<host>:<path>` (binary ones as bytes). */
    readonly files: ReadonlyMap<string, string | Buffer>;
}

export interface Inputs {
    readonly model: Model;
    readonly render: RenderSet;
    /** Stack outputs, or undefined when there are none. */
    readonly outputs?: Readonly<Record<string, unknown>>;
    /** Where the outputs came from (for the report header). */
    readonly outputsSource: string;
}

/** A config problem: exit 2 with the problem lines. */
export class ConfigProblemError extends Error {}

export function loadModel(stack: string): Model {
    let config;
    try {
        config = readStackConfig(REPO_ROOT, stack);
    } catch (err) {
        throw new ConfigProblemError(err instanceof Error ? err.message : String(err));
    }
    try {
        return parseModel({ values: config.values, secretKeys: config.secretKeys, project: config.project, stack });
    } catch (err) {
        if (err instanceof ConfigError) throw new ConfigProblemError(err.message);
        throw err;
    }
}

export async function loadRenderSet(stack: string): Promise<RenderSet> {
    const config = readStackConfig(REPO_ROOT, stack);
    let run;
    try {
        run = await runProgram({
            pulumi,
            project: config.project,
            stack,
            config: config.values,
            secretKeys: config.secretKeys,
            load: () => import("../../../main") as Promise<Record<string, unknown>>,
        });
    } catch (err) {
        if (err instanceof Error && (err.name === "RunError" || pulumi.RunError.isInstance(err))) throw new ConfigProblemError(err.message);
        throw err;
    }
    const zones = JSON.parse(config.values[`${config.project}:cloudflareZones`] ?? "{}") as Record<string, string>;
    const zoneNames = Object.fromEntries(Object.entries(zones).map(([name, id]) => [id, name.toLowerCase()]));
    const tree = collect(run, zoneNames, false);
    const files = new Map<string, string | Buffer>();
    for (const f of tree.files) if (!f.entry.secret) files.set(`${f.entry.host}:${f.entry.path}`, f.content);
    return { records: tree.records, files };
}

/** The stack outputs, from a file or the Pulumi CLI; undefined when neither is there. */
export function loadOutputs(stack: string, file: string | undefined, warn: (line: string) => void): { outputs?: Record<string, unknown>; source: string } {
    if (file !== undefined) {
        if (!existsSync(file)) throw new UsageError(`--outputs ${file}: no such file (write it with \`pulumi stack output --json > ${file}\`)`);
        try {
            return { outputs: JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>, source: file };
        } catch (err) {
            throw new UsageError(`--outputs ${file}: not JSON (${err instanceof Error ? err.message : String(err)})`);
        }
    }
    const cli = spawnSync("pulumi", ["stack", "output", "--json", "--stack", stack], { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 });
    if (cli.error && (cli.error as NodeJS.ErrnoException).code === "ENOENT") return { source: "none (no Pulumi CLI on PATH and no --outputs FILE)" };
    if (cli.status !== 0) {
        warn(`doctor: \`pulumi stack output --json --stack ${stack}\` failed: ${(cli.stderr || String(cli.error)).trim().split("\n")[0]}; checks that need outputs are skipped`);
        return { source: "none (pulumi stack output failed)" };
    }
    return { outputs: JSON.parse(cli.stdout) as Record<string, unknown>, source: `pulumi stack output --stack ${stack}` };
}
