/**
 * The doctor's drift check against the real Pulumi CLI (tests/real/tools/build.sh): the project of
 * tests/real/tools/record-refresh.sh (a local file backend, two dynamic-provider resources standing
 * for host files, a secret), left in place with `--keep`. The check's own CLI call and judge: one
 * file edited and one removed outside Pulumi is a warn naming both; once both are as the program
 * wrote them again, ok. No root, no network. Locally a missing tool skips with the command that builds it; in
 * CI (CI=true) it fails.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import * as path from "node:path";
import { driftChecks } from "../../scripts/lib/doctor/checks/drift";
import type { DoctorContext } from "../../scripts/lib/doctor/context";
import { cliRefreshPreview } from "../../scripts/lib/doctor/pulumiRefresh";

const repo = path.resolve(__dirname, "../..");
const toolsCache = process.env.HOMEMAIL_TOOLS_CACHE ?? path.join(homedir(), ".cache", "homemail-tools");
const missing = ["pulumi", "pulumi-language-nodejs"].filter((t) => !existsSync(path.join(toolsCache, "bin", t)));

if (missing.length > 0) {
    const why = `real-run tools missing from ${toolsCache}/bin: ${missing.join(", ")}; run tests/real/tools/build.sh`;
    if (process.env.CI === "true") {
        test("the real-run tools are built", () => {
            throw new Error(why);
        });
    } else {
        process.stderr.write(`SKIP real drift test: ${why}\n`);
    }
}

(missing.length === 0 ? describe : describe.skip)("real run: the doctor's drift check on pulumi refresh --preview-only", () => {
    let work: string;
    const saved = { ...process.env };

    beforeAll(() => {
        work = mkdtempSync(path.join(tmpdir(), "hm-drift-"));
        const r = spawnSync(path.join(repo, "tests/real/tools/record-refresh.sh"), ["--keep", work], { encoding: "utf8", timeout: 120_000 });
        if (r.status !== 0) throw new Error(`record-refresh.sh --keep failed: ${r.stderr}`);
        // What the script's project needs (the doctor's CLI call inherits the environment, as a user's shell gives it).
        Object.assign(process.env, {
            PATH: `${path.join(work, "bin")}:${path.join(repo, "node_modules", ".bin")}:${process.env.PATH}`,
            PULUMI_HOME: path.join(work, "pulumi-home"),
            PULUMI_CONFIG_PASSPHRASE: "record-refresh passphrase",
            PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        });
    }, 120_000);

    afterAll(() => {
        process.env = saved;
        if (work) rmSync(work, { recursive: true, force: true });
    });

    const drift = () => driftChecks({ stack: "lab", refresh: cliRefreshPreview(path.join(work, "project"), 60_000) })[0].run({} as DoctorContext);

    it("a file edited and one removed outside Pulumi: a warn naming both, with the commands", async () => {
        const f = await drift();
        expect(f).toMatchObject({ status: "warn", fix: expect.stringContaining("pulumi refresh --preview-only --diff --stack lab") });
        expect(f.detail).toContain("delete pulumi-nodejs:dynamic:Resource issue");
        expect(f.detail).toContain("update pulumi-nodejs:dynamic:Resource motd (content)");
        expect(f.detail).not.toContain("edited by hand");
    });

    it("once the files are as the program wrote them again: ok, nothing would change", async () => {
        writeFileSync(path.join(work, "files", "motd"), "homemail\n");
        writeFileSync(path.join(work, "files", "issue"), "Debian GNU/Linux 12\n");
        expect(await drift()).toMatchObject({ status: "ok", detail: expect.stringMatching(/^pulumi refresh --preview-only: 3 resources, nothing would change/) });
    });
});
