/** `npm run render`: the CLI contract of ARCHITECTURE.md, run as a user runs it. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../helpers/stack";

function render(args: string[]) {
    const started = Date.now();
    const r = spawnSync(path.join(REPO_ROOT, "node_modules/.bin/tsx"), [path.join(REPO_ROOT, "scripts/render.ts"), ...args], { cwd: REPO_ROOT, encoding: "utf8" });
    return { ...r, ms: Date.now() - started };
}

function tree(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
        for (const e of readdirSync(d).sort()) {
            const p = path.join(d, e);
            if (statSync(p).isDirectory()) walk(p);
            else out[path.relative(dir, p)] = readFileSync(p, "latin1");
        }
    };
    walk(dir);
    return out;
}

describe("npm run render", () => {
    const outA = mkdtempSync(path.join(tmpdir(), "hm-render-a-"));
    const outB = mkdtempSync(path.join(tmpdir(), "hm-render-b-"));
    let first: ReturnType<typeof render>;

    beforeAll(() => {
        first = render(["--out", outA]);
    });

    it("renders the dev stack offline into out/<stack>/ with the contract's layout, in under 5 s", () => {
        expect(first.stderr).toMatch(/render: \d+ resources/);
        expect(first.status).toBe(0);
        const files = Object.keys(tree(path.join(outA, "dev")));
        for (const f of ["files.json", "resources.json", "outputs.json", "dns/records.json", "dns/example.com.zone", "mailu/import.yaml"]) expect(files).toContain(f);
        expect(first.ms).toBeLessThan(5000);
    });

    it("gives a byte-identical tree on a second run", () => {
        const second = render(["--out", outB]);
        expect(second.status).toBe(0);
        expect(tree(path.join(outB, "dev"))).toEqual(tree(path.join(outA, "dev")));
    });

    it("wipes the stack directory, so files from an earlier render do not linger", () => {
        const again = render(["--out", outA]);
        expect(again.status).toBe(0);
        expect(tree(path.join(outA, "dev"))).toEqual(tree(path.join(outB, "dev")));
    });

    it("contains no private key material and no secret fixture values by default", () => {
        const all = Object.values(tree(path.join(outA, "dev"))).join("\n");
        expect(all).not.toMatch(/BEGIN ([A-Z]+ )?PRIVATE KEY/);
        expect(all).not.toMatch(/PrivateKey *= *[A-Za-z0-9+/]{40,}/);
        expect(all).not.toMatch(/fixture[0-9a-f]{16}/);
        expect(all).not.toContain("test-only-cloudflare-acme-token");
    });

    it("refuses unknown arguments and unknown stacks with exit 2 and one clear line", () => {
        const bad = render(["--frobnicate"]);
        expect(bad.status).toBe(2);
        expect(bad.stderr).toContain("unknown argument --frobnicate");
        const missing = render(["--stack", "nosuchstack", "--out", outB]);
        expect(missing.status).not.toBe(0);
        expect(missing.stderr).toContain("Pulumi.nosuchstack.yaml");
        expect(missing.stderr).not.toMatch(/\n\s+at /);
    });
});
