/**
 * The invalid-config corpus through the render entry (scripts/lib/renderCli.ts, what `npm run
 * render` runs), called in-process: exit 2, one line per problem naming the key, no stack trace,
 * no resource registered and nothing written.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { INVALID_CASES } from "../invalid-config/cases";
import { renderInProcess } from "../helpers/program";
import { ConfigChange, withConfig } from "../helpers/stack";

const out = mkdtempSync(path.join(tmpdir(), "hm-invalid-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** The render entry on the dev stack with `changes`. */
function renderWith(changes: readonly ConfigChange[]) {
    const input = withConfig(changes);
    return renderInProcess(["--stack", "dev", "--out", out], () => ({ project: input.project, values: { ...input.values }, secretKeys: [...input.secretKeys] }));
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
