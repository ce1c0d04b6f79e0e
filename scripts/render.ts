/**
 * `npm run render -- [--stack NAME] [--out DIR] [--include-secrets]`
 *
 * Runs the real program (main.ts, then index.ts) under the Pulumi mock engine, offline, and writes every host file, DNS
 * record, resource and output to DIR/<stack>/ (ARCHITECTURE.md, "Offline render"). Exit 0 on
 * success, 2 on invalid config, stack file or usage (one line per problem, no stack trace), 1 otherwise.
 */
import * as pulumi from "@pulumi/pulumi";
import { renderCli } from "./lib/renderCli";

renderCli(process.argv.slice(2), { pulumi, load: () => import("../main") as Promise<Record<string, unknown>> }).then(
    (code) => process.exit(code),
    (err: unknown) => {
        process.stderr.write(`render: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
    },
);
