/**
 * Every rendered zone file loads in BIND's own checker (named-checkzone, from bind9-utils): the
 * offline render's zone files are real zone files, for the dev stack and the multi-zone stack.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { renderStack, RenderedStack } from "../helpers/render";

describe.each(["dev", "multi"])("zone files of the %s stack", (stack) => {
    let rendered: RenderedStack;
    beforeAll(() => {
        rendered = renderStack(stack);
    });
    afterAll(() => rendered?.cleanup());

    it("writes one zone file per Cloudflare zone of the stack", () => {
        const zones = [...new Set(rendered.records.map((r) => r.zone))].sort();
        expect(Object.keys(rendered.zoneFiles)).toEqual(zones);
        expect(zones.length).toBe(stack === "multi" ? 3 : 1);
    });

    it("named-checkzone accepts every zone, with full integrity checks", () => {
        for (const [zone, file] of Object.entries(rendered.zoneFiles)) {
            // -k fail / -m fail / -n fail: a bad name, a bad MX or NS target is an error, not a warning.
            const r = spawnSync("named-checkzone", ["-k", "fail", "-m", "fail", "-n", "fail", "-i", "full", zone, file], { encoding: "utf8" });
            expect({ zone, status: r.status, out: r.stdout + r.stderr }).toEqual(expect.objectContaining({ zone, status: 0 }));
            expect(r.stdout).toMatch(/OK\s*$/);
        }
    });

    it("keeps every TXT string within 255 bytes (long DKIM keys are split, not cut)", () => {
        for (const file of Object.values(rendered.zoneFiles)) {
            for (const line of readFileSync(file, "utf8").split("\n").filter((l) => / IN TXT /.test(l))) {
                const strings = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
                for (const s of strings) expect(Buffer.byteLength(s)).toBeLessThanOrEqual(255);
            }
        }
        const dkim = rendered.records.filter((r) => r.type === "TXT" && r.name.includes("._domainkey."));
        expect(dkim.length).toBeGreaterThan(0);
        for (const r of dkim) expect(Buffer.byteLength(String(r.content))).toBeGreaterThan(255);
    });
});
