/**
 * `npm run diff` as a reviewer uses it: in a scratch clone, commit a change to the dev stack and ask
 * what it does. The expected answer is not taken from the diff code: both sides are rendered here and
 * compared by plain equality of their files.json / records.json / resources.json / outputs.json
 * entries. On top, what each change must (not) touch: once the DNS and Mailu components render
 * records and files, the same assertions pin the DMARC record and the alias file exactly.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { RenderDiff } from "../../scripts/lib/compareRenders";
import { makeScratchClone, ScratchClone } from "../../scripts/lib/scratchClone";
import { ADD_ALIAS, applyStackEdit, DMARC_POLICY, REDIRECT_ALIAS, StackEdit } from "../../scripts/lib/stackEdits";
import type { DnsRecordOut } from "../../scripts/lib/zoneFile";

const DNS_RECORD_TYPE = "cloudflare:index/dnsRecord:DnsRecord";

let clone: ScratchClone;
let baseCommit: string;

/** The diff's own temp directories go here, so a concurrent run elsewhere cannot look like a leftover. */
const privateTmp = mkdtempSync(path.join(tmpdir(), "hm-diff-cli-tmp-"));

function npmRun(args: string[]) {
    const r = spawnSync("npm", ["run", "--silent", ...args], { cwd: clone.dir, encoding: "utf8", env: { ...process.env, TMPDIR: privateTmp } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr.split("\n").filter((l) => l && !/^npm warn/i.test(l)) };
}

function diffJson(base: string): { status: number | null; changes: RenderDiff; stdout: string; stderr: string[] } {
    const r = npmRun(["diff", "--", "--base", base, "--format", "json"]);
    if (r.status !== 0 && r.status !== 1) throw new Error(`npm run diff exited ${r.status}: ${r.stderr.join("\n")}`);
    return { ...r, changes: (JSON.parse(r.stdout) as { changes: RenderDiff }).changes };
}

/** The clone's working tree rendered into a fresh directory; returns out/dev. */
function renderHere(): string {
    const out = mkdtempSync(path.join(tmpdir(), "hm-diff-expect-"));
    const r = npmRun(["render", "--", "--out", out]);
    if (r.status !== 0) throw new Error(`render failed: ${r.stderr.join("\n")}`);
    return path.join(out, "dev");
}

const readJson = <T>(dir: string, file: string): T => JSON.parse(readFileSync(path.join(dir, file), "utf8")) as T;

/** Keys whose entries differ between two lists, by plain JSON equality (the independent oracle). */
function differingKeys<T>(before: T[], after: T[], key: (x: T) => string): string[] {
    const index = (xs: T[]) => {
        const m = new Map<string, string[]>();
        for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), JSON.stringify(x)].sort());
        return m;
    };
    const a = index(before);
    const b = index(after);
    return [...new Set([...a.keys(), ...b.keys()])].filter((k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k))).sort();
}

interface Expected {
    files: string[];
    records: string[];
    resources: string[];
    outputs: string[];
    headRecords: DnsRecordOut[];
    headFiles: Map<string, string>;
}

function expectedChanges(beforeDir: string, afterDir: string): Expected {
    type Entry = { host: string; path: string };
    type Resource = { urn: string };
    const outputs = (d: string) => Object.entries(readJson<Record<string, unknown>>(d, "outputs.json")).map(([name, value]) => ({ name, value }));
    const headFiles = new Map(readJson<Entry[]>(afterDir, "files.json").map((f) => [`${f.host}:${f.path}`, readFileSync(path.join(afterDir, "hosts", f.host, f.path), "utf8")]));
    return {
        files: differingKeys(readJson<Entry[]>(beforeDir, "files.json"), readJson<Entry[]>(afterDir, "files.json"), (f) => `${f.host}:${f.path}`),
        records: differingKeys(readJson<DnsRecordOut[]>(beforeDir, "dns/records.json"), readJson<DnsRecordOut[]>(afterDir, "dns/records.json"), (r) => `${r.type} ${r.name}`),
        resources: differingKeys(readJson<Resource[]>(beforeDir, "resources.json"), readJson<Resource[]>(afterDir, "resources.json"), (r) => r.urn),
        outputs: differingKeys(outputs(beforeDir), outputs(afterDir), (o) => o.name),
        headRecords: readJson<DnsRecordOut[]>(afterDir, "dns/records.json"),
        headFiles,
    };
}

function reported(d: RenderDiff) {
    const uniq = (xs: string[]) => [...new Set(xs)].sort();
    return {
        files: uniq(d.files.map((f) => `${f.host}:${f.path}`)),
        records: uniq(d.records.map((r) => `${r.type} ${r.name}`)),
        resources: uniq(d.resources.map((r) => r.urn)),
        outputs: uniq(d.outputs.map((o) => o.name)),
    };
}

/** Commits one stack edit on a branch from the base; returns what the renders say changed and the diff. */
function commitEdit(edit: StackEdit): { expected: Expected; diff: ReturnType<typeof diffJson> } {
    clone.git("checkout", "-q", "-B", `edit-${edit.name.replace(/\W+/g, "-")}`, baseCommit);
    const before = renderHere();
    clone.edit("Pulumi.dev.yaml", (t) => applyStackEdit(t, edit));
    const after = renderHere();
    clone.commitAll(edit.change);
    return { expected: expectedChanges(before, after), diff: diffJson(baseCommit) };
}

const worktrees = () => clone.git("worktree", "list", "--porcelain").split("\n").filter((l) => l.startsWith("worktree ")).length;
const diffTemps = () => readdirSync(privateTmp).filter((n) => n.startsWith("homemail-diff-"));

beforeAll(() => {
    clone = makeScratchClone();
    baseCommit = clone.git("rev-parse", "HEAD");
});
afterAll(() => {
    clone?.dispose();
    rmSync(privateTmp, { recursive: true, force: true });
});

describe("npm run diff", () => {
    it("reports nothing and exits 0 for an unchanged tree", () => {
        clone.git("checkout", "-q", "--detach", baseCommit);
        const text = npmRun(["diff", "--", "--base", "HEAD"]);
        expect(text.status).toBe(0);
        expect(text.stdout).toMatch(/^No changes: stack dev renders the same/m);
        const json = diffJson("HEAD");
        expect(json.status).toBe(0);
        expect(reported(json.changes)).toEqual({ files: [], records: [], resources: [], outputs: [] });
        expect(worktrees()).toBe(1);
    });

    it("reports exactly what a committed DMARC policy change renders differently: the _dmarc TXT record and nothing else", () => {
        const { expected, diff } = commitEdit(DMARC_POLICY);
        expect(reported(diff.changes)).toEqual({ files: expected.files, records: expected.records, resources: expected.resources, outputs: expected.outputs });
        expect(diff.status).toBe(expected.records.length + expected.resources.length + expected.outputs.length > 0 ? 1 : 0);
        // The policy is DNS only: no host file, and no record other than a _dmarc TXT.
        expect(diff.changes.files).toEqual([]);
        for (const r of diff.changes.records) expect(`${r.type} ${r.name}`).toMatch(/^TXT _dmarc\./);
        for (const r of diff.changes.resources) expect(r.type).toBe(DNS_RECORD_TYPE);
        // Once the DNS component renders the record, the change is that one record, from quarantine to reject.
        if (expected.headRecords.some((r) => r.type === "TXT" && r.name === "_dmarc.example.com")) {
            expect(diff.changes.records).toEqual([expect.objectContaining({ kind: "changed", type: "TXT", name: "_dmarc.example.com" })]);
            expect(diff.changes.records[0].before?.content).toMatch(/\bp=quarantine\b/);
            expect(diff.changes.records[0].after?.content).toMatch(/\bp=reject\b/);
        }
        expect(diff.stdout).not.toMatch(/fixture[0-9a-f]{16}|BEGIN ([A-Z]+ )?PRIVATE KEY/);
    });

    it("reports exactly what a committed new alias renders differently: files at home, no DNS record, nothing on the VPS", () => {
        const { expected, diff } = commitEdit(ADD_ALIAS);
        expect(reported(diff.changes)).toEqual({ files: expected.files, records: expected.records, resources: expected.resources, outputs: expected.outputs });
        expect(diff.changes.records).toEqual([]);
        for (const r of diff.changes.resources) expect(r.type).not.toBe(DNS_RECORD_TYPE);
        for (const f of diff.changes.files) expect(f.host).toBe("home");
        // Once Mailu's config is rendered, the alias shows up in the files that changed, and only there.
        const carriers = [...expected.headFiles].filter(([, content]) => content.includes("info@example.com")).map(([k]) => k);
        if (carriers.length > 0) {
            expect(diff.status).toBe(1);
            expect(reported(diff.changes).files).toEqual(expect.arrayContaining(carriers));
            for (const f of diff.changes.files) expect(f.patch ?? "").toContain("info@example.com");
        }
        expect(diff.stdout).not.toMatch(/fixture[0-9a-f]{16}|BEGIN ([A-Z]+ )?PRIVATE KEY/);
    });

    it("shows where mail goes: redirecting an alias shows its old and new destination in the Mailu import", () => {
        clone.git("checkout", "-q", "-B", "alias-base", baseCommit);
        clone.edit("Pulumi.dev.yaml", (t) => applyStackEdit(t, ADD_ALIAS));
        const withAlias = clone.commitAll(ADD_ALIAS.change);
        clone.edit("Pulumi.dev.yaml", (t) => applyStackEdit(t, REDIRECT_ALIAS));
        clone.commitAll(REDIRECT_ALIAS.change);
        const text = npmRun(["diff", "--", "--base", withAlias]);
        expect(text.status).toBe(1);
        // The section, then the alias entry's destination line removed and added (the patch's - and + lines).
        const section = text.stdout.slice(text.stdout.indexOf("== Mailu import =="));
        expect(section).toMatch(/^== Mailu import ==\n~ mailu\/import\.yaml\n/);
        const lines = section.split("\n");
        // Each destination list is one line, led by Mailu's "replace the list" marker.
        const removed = lines.findIndex((l) => /^ {4}- +destination: \["-prune-", "user@example\.com"\]$/.test(l));
        expect(removed).toBeGreaterThan(0);
        expect(lines[removed + 1]).toMatch(/^ {4}\+ +destination: \["-prune-", "admin@example\.com"\]$/);
        // Whose destination: the hunk's context names the alias right above.
        expect(lines[removed - 1]).toMatch(/^ {4} +- email: "info@example\.com"$/);
        expect(text.stdout).not.toMatch(/fixture[0-9a-f]{16}|BEGIN ([A-Z]+ )?PRIVATE KEY/);
    });

    it("exits 2 with one line for a ref that does not exist, or a missing --base", () => {
        const r = npmRun(["diff", "--", "--base", "no-such-ref"]);
        expect(r.status).toBe(2);
        expect(r.stderr).toEqual([expect.stringMatching(/^diff: unknown git ref "no-such-ref"/)]);
        expect(r.stdout).toBe("");
        const usage = npmRun(["diff", "--", "--stack", "dev"]);
        expect(usage.status).toBe(2);
        expect(usage.stderr).toEqual([expect.stringMatching(/^diff: --base is required/)]);
    });

    it("exits 2 with one line naming the base when the base does not render, and removes its checkout", () => {
        clone.git("checkout", "-q", "-B", "broken-base", baseCommit);
        clone.edit("Pulumi.dev.yaml", (t) => t.replace(/policy: quarantine/, "policy: sometimes"));
        const broken = clone.commitAll("a config the model refuses");
        clone.git("checkout", "-q", "--detach", baseCommit);
        const tempsBefore = diffTemps();
        const r = npmRun(["diff", "--", "--base", broken]);
        expect(r.status).toBe(2);
        expect(r.stderr).toHaveLength(1);
        expect(r.stderr[0]).toMatch(new RegExp(`^diff: rendering ${broken} \\(${broken.slice(0, 7)}\\) failed: .*homemail:dmarc\\.policy`));
        expect(worktrees()).toBe(1);
        expect(diffTemps()).toEqual(tempsBefore);
    });

    it("stops the renders and removes the temporary checkout on Ctrl-C", async () => {
        // A base whose render hangs, so the interrupt lands while the base checkout exists.
        const pidFile = path.join(clone.dir, "..", "render.pid");
        clone.git("checkout", "-q", "-B", "slow-base", baseCommit);
        clone.edit("package.json", (t) => {
            const pkg = JSON.parse(t) as { scripts: Record<string, string> };
            pkg.scripts.render = `echo $$ > ${pidFile}; sleep 60; true`; // npm appends the arguments to `true`
            return `${JSON.stringify(pkg, null, 2)}\n`;
        });
        const slow = clone.commitAll("a render that hangs");
        clone.git("checkout", "-q", "--detach", baseCommit);
        const child = spawn(path.join(clone.dir, "node_modules/.bin/tsx"), ["scripts/diff.ts", "--base", slow], { cwd: clone.dir, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
        const deadline = Date.now() + 20000;
        while (!existsSync(pidFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(existsSync(pidFile)).toBe(true);
        expect(worktrees()).toBe(2);
        child.kill("SIGINT");
        expect(await exited).toBe(2);
        expect(stderr).toContain("diff: interrupted (SIGINT)");
        expect(worktrees()).toBe(1);
        const renderPid = Number(readFileSync(pidFile, "utf8"));
        const alive = () => {
            try {
                process.kill(renderPid, 0);
                return true;
            } catch {
                return false;
            }
        };
        for (let i = 0; i < 40 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
        expect(alive()).toBe(false);
    });
});
