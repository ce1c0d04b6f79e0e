/**
 * The invalid-config corpus through the render entry (scripts/lib/renderCli.ts, what `npm run
 * render` runs), called in-process: exit 2, one line per problem naming the key, no stack trace,
 * no resource registered and nothing written.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { INVALID_CASES } from "../invalid-config/cases";
import { ConfigChange, withConfig } from "../helpers/stack";

interface Rendered {
    readonly code: number;
    readonly stderr: string;
    readonly registered: number;
}

const out = mkdtempSync(path.join(tmpdir(), "hm-invalid-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Runs the render entry on the dev stack with `changes`, in a fresh module registry. */
async function renderWith(changes: readonly ConfigChange[]): Promise<Rendered> {
    const input = withConfig(changes);
    let result: Rendered | undefined;
    await jest.isolateModulesAsync(async () => {
        const pulumi = await import("@pulumi/pulumi");
        const { renderCli } = await import("../../scripts/lib/renderCli");
        let stderr = "";
        let registered = 0;
        const code = await renderCli(["--stack", "dev", "--out", out], {
            pulumi,
            load: () => import("../../index") as Promise<Record<string, unknown>>,
            readConfig: () => ({ project: input.project, values: { ...input.values }, secretKeys: [...input.secretKeys] }),
            stdout: () => undefined,
            stderr: (t) => (stderr += t),
            onResource: () => registered++,
        });
        result = { code, stderr, registered };
    });
    return result!;
}

describe("npm run render on invalid config (in-process)", () => {
    it.each(INVALID_CASES.map((c) => [c.title, c] as const))("%s: exit 2, names the key, registers nothing", async (_title, c) => {
        const r = await renderWith(c.changes);
        expect({ code: r.code, registered: r.registered }).toEqual({ code: 2, registered: 0 });
        const lines = r.stderr.trimEnd().split("\n");
        expect(lines[0]).toMatch(/^render: homemail: the stack config has \d+ problems?:$/);
        expect(lines.slice(1).some((l) => l.startsWith(`  - ${c.key}: `))).toBe(true);
        for (const line of lines.slice(1)) expect(line).toMatch(/^ {2}- \S+: .+\. Fix: .+/);
        expect(r.stderr).not.toMatch(/^ {4}at /m);
        expect(existsSync(path.join(out, "dev"))).toBe(false);
    });
});
