/**
 * Re-records tests/fixtures/doctor-recorded/ on a fresh e2e lab (root; about 20 s):
 *
 *   sudo node_modules/.bin/tsx tests/recordings/record-doctor-answers.ts [OUT_DIR]
 *
 * Run it when a doctor check starts asking something the recordings do not hold (the replay tests
 * name the missing question or command) or when the lab changes what it serves.
 */
import * as path from "node:path";
import { REPO_ROOT } from "../helpers/stack";
import { recordOnFreshLab } from "./doctorAnswers";

async function main(outDir: string): Promise<number> {
    if (process.getuid?.() !== 0) {
        process.stderr.write("record-doctor-answers: needs root (it builds the e2e lab in network namespaces)\n");
        return 2;
    }
    const left = await recordOnFreshLab(outDir);
    if (left.length) {
        process.stderr.write(`record-doctor-answers: left behind: ${left.join(" ")}\n`);
        return 1;
    }
    process.stderr.write(`record-doctor-answers: wrote ${outDir}\n`);
    return 0;
}

main(path.resolve(process.argv[2] ?? path.join(REPO_ROOT, "tests", "fixtures", "doctor-recorded"))).then(
    (code) => process.exit(code),
    (err: unknown) => {
        process.stderr.write(`record-doctor-answers: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
    },
);
