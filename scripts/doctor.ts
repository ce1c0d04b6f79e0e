/**
 * `npm run doctor -- [--stack NAME] ...` (also `homemail doctor`): is the deployed mail system
 * healthy, and if not, what exactly to do. Compares the live DNS, web, SMTP and hosts with the
 * stack's model, render and outputs (scripts/lib/doctor/). Exit 0 no check failed, 1 a check
 * failed, 2 usage or config error (one line per problem, no stack trace). Progress goes to stderr.
 */
import { existsSync } from "node:fs";
import { parseDoctorArgs, USAGE, UsageError } from "./lib/doctor/args";
import type { DoctorContext } from "./lib/doctor/context";
import { AuthoritativeDns } from "./lib/doctor/dns";
import { ConfigProblemError, loadModel, loadOutputs, loadRenderSet } from "./lib/doctor/inputs";
import { REPO_ROOT } from "./lib/mockEngine";
import { AREAS } from "./lib/doctor/check";
import { allChecks } from "./lib/doctor/registry";
import { exitCode, formatJson, formatTable } from "./lib/doctor/report";
import { cliRefreshPreview } from "./lib/doctor/pulumiRefresh";
import { runChecks, unknownSelectors } from "./lib/doctor/runner";
import { sshRunner } from "./lib/doctor/ssh";
import { httpsFetcher, trustedCas } from "./lib/doctor/web";

async function main(argv: readonly string[]): Promise<number> {
    const started = Date.now();
    const args = parseDoctorArgs(argv);
    if (args === "help") {
        process.stdout.write(USAGE);
        return 0;
    }
    const progress = (line: string) => process.stderr.write(`${line}\n`);
    const model = loadModel(args.stack);
    const { outputs, source } = loadOutputs(args.stack, args.outputsFile, progress);
    let ca: string[];
    try {
        ca = trustedCas(args.caFile);
    } catch (err) {
        throw new UsageError(`--ca-file ${args.caFile}: ${err instanceof Error ? err.message : String(err)}`);
    }
    progress(`doctor: stack ${args.stack}; rendering the expected state; outputs: ${source}`);
    const render = await loadRenderSet(args.stack);
    const dns = new AuthoritativeDns({ servers: args.dnsServers, zones: model.cloudflare.zones.map((z) => z.name), timeoutMs: args.timeoutMs });
    const ctx: DoctorContext = {
        model,
        render,
        outputs,
        dns,
        https: httpsFetcher(dns, ca, args.timeoutMs),
        ssh: sshRunner({ vps: model.vps.ssh, home: model.home.ssh }, { configFile: args.sshConfig, timeoutMs: args.timeoutMs }),
        timeoutMs: args.timeoutMs,
        facts: new Map(),
    };
    if (args.trustAnchor && !existsSync(args.trustAnchor)) throw new UsageError(`--trust-anchor ${args.trustAnchor}: no such file`);
    const checks = allChecks(ctx, { ca, blocklists: args.blocklists, trustAnchor: args.trustAnchor, egressProbe: args.egressProbe, stack: args.stack, refresh: cliRefreshPreview(REPO_ROOT, 300_000) });
    const unknown = unknownSelectors(checks, { only: args.only, skip: args.skip });
    if (unknown.length > 0) throw new UsageError(`--only/--skip ${unknown.join(", ")}: no such area or check (areas: ${AREAS.join(", ")}; ids as in the report)`);
    const results = await runChecks(checks, { only: args.only, skip: args.skip }, ctx, {
        hasOutputs: outputs !== undefined,
        onStart: (c, i, total) => progress(`doctor: [${i + 1}/${total}] ${c.id}`),
    });
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(args.json ? formatJson(args.stack, results, seconds) : formatTable(args.stack, results, seconds));
    return exitCode(results);
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        const usage = err instanceof UsageError || err instanceof ConfigProblemError;
        process.stderr.write(`doctor: ${usage ? message : err instanceof Error ? (err.stack ?? message) : message}\n`);
        process.exit(usage ? 2 : 1);
    },
);
