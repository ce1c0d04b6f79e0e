/**
 * Bad stack files as users write them, and bad stack names: `npm run render` (its entry, in-process)
 * and `npm run diff` exit 2 with one line naming the file or argument, never a stack trace.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { readStackConfig } from "../../scripts/lib/stackFile";
import { renderInProcess } from "../helpers/program";
import { REPO_ROOT } from "../helpers/stack";

const root = mkdtempSync(path.join(tmpdir(), "hm-stackfile-"));
copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(root, "Pulumi.yaml"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** An alias bomb: each level refers nine times to the one before (a billion strings if expanded). */
const bomb = ["config:", "  homemail:x:", "    a: &a [x,x,x,x,x,x,x,x,x]", "    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]", "    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]", "    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]", "    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]", "    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]", "    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]", "    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]", "    i: [*h,*h,*h,*h,*h,*h,*h,*h,*h]", ""].join("\n");

const STACK_FILES: [title: string, text: string | undefined, mentions: string][] = [
    ["a YAML syntax error", "config:\n  homemail:primaryDomain: [example.com\n", "is not valid YAML"],
    ["a duplicate key", "config:\n  homemail:primaryDomain: a.example\n  homemail:primaryDomain: b.example\n", "Map keys must be unique"],
    ["tab indentation", "config:\n\thomemail:primaryDomain: example.com\n", "Tabs are not allowed"],
    ["an alias bomb", bomb, "alias"],
    ["config that is a list", "config:\n  - homemail:primaryDomain\n", '"config" must be a mapping'],
    ["no stack file", undefined, "no stack file"],
];

const renderIn = (stack: string, out: string) => renderInProcess(["--stack", stack, "--out", out], (s) => readStackConfig(root, s));

describe("npm run render on a bad stack file", () => {
    it.each(STACK_FILES)("%s: exit 2, one line", async (title, text, mentions) => {
        const stack = `bad-${STACK_FILES.findIndex(([t]) => t === title)}`;
        if (text !== undefined) writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), text);
        const started = Date.now();
        const r = await renderIn(stack, path.join(root, "out"));
        expect(r.code).toBe(2);
        expect(r.stderr.trimEnd().split("\n")).toEqual([expect.stringContaining(mentions)]);
        expect(r.stderr).toContain(`Pulumi.${stack}.yaml`);
        expect(Date.now() - started).toBeLessThan(5000);
    });

    it.each(["..", ".", "../x", "a/b", "-x", ""])("refuses --stack %j before touching --out's parent", async (stack) => {
        const out = path.join(root, "guarded", "out");
        mkdirSync(out, { recursive: true });
        writeFileSync(path.join(root, "guarded", "sentinel"), "keep me");
        const r = await renderIn(stack, out);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/^render: --stack: ".*" is not a stack name/);
        expect(existsSync(path.join(root, "guarded", "sentinel"))).toBe(true);
    });
});

describe("npm run diff on a bad stack file", () => {
    const diff = (args: string[]) => spawnSync(path.join(REPO_ROOT, "node_modules/.bin/tsx"), [path.join(REPO_ROOT, "scripts/diff.ts"), ...args], { cwd: REPO_ROOT, encoding: "utf8" });
    const stack = `hm-test-dup-${process.pid}`;
    const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
    afterAll(() => rmSync(file, { force: true }));

    it("exits 2 with one line for a duplicate key", () => {
        writeFileSync(file, "config:\n  homemail:primaryDomain: a.example\n  homemail:primaryDomain: b.example\n");
        const r = diff(["--stack", stack, "--base", "HEAD"]);
        expect(r.status).toBe(2);
        expect(r.stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^diff: .*Map keys must be unique/)]);
    });

    it("exits 2 with one line for --stack ..", () => {
        const r = diff(["--stack", "..", "--base", "HEAD"]);
        expect(r.status).toBe(2);
        expect(r.stderr.trimEnd().split("\n")).toEqual([expect.stringContaining("is not a stack name")]);
    });
});
