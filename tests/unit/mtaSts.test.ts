import { parseModel } from "../../components/config";
import { mtaStsPolicyId, mtaStsTxt, renderMtaStsPolicy } from "../../components/render/mtaSts";
import { devModel, stackInput, withConfig } from "../helpers/stack";

/** RFC 8461 3.2 fields of a policy text, parsed independently of the renderer. */
function parsePolicy(text: string): { lines: string[]; fields: [string, string][] } {
    expect(text.endsWith("\r\n")).toBe(true);
    const lines = text.slice(0, -2).split("\r\n");
    const fields = lines.map((l) => {
        const m = /^([A-Za-z0-9_]+): *(.*)$/.exec(l);
        if (!m) throw new Error(`not a policy field: ${JSON.stringify(l)}`);
        return [m[1], m[2]] as [string, string];
    });
    return { lines, fields };
}

describe("MTA-STS policy (RFC 8461)", () => {
    const model = devModel();

    it("is CRLF-separated key/value pairs: version, the configured mode and max_age, the mail host as the only mx", () => {
        const { fields } = parsePolicy(renderMtaStsPolicy(model));
        expect(Object.fromEntries(fields)).toEqual({ version: "STSv1", mode: "testing", mx: "mail.example.com", max_age: "604800" });
        expect(fields[0]).toEqual(["version", "STSv1"]);
        expect(renderMtaStsPolicy(model)).not.toMatch(/[^\r]\n/);
    });

    it("follows the config: mode, max_age and mail host", () => {
        const m = parseModel(withConfig([
            { key: "homemail:mtaSts", value: { mode: "enforce", maxAgeSeconds: 86400 } },
            { key: "homemail:mailHost", value: "mx.example.com" },
        ]));
        expect(Object.fromEntries(parsePolicy(renderMtaStsPolicy(m)).fields)).toEqual({ version: "STSv1", mode: "enforce", mx: "mx.example.com", max_age: "86400" });
    });

    it("refuses a max_age beyond RFC 8461's limit (a programming error: the config refuses it first)", () => {
        expect(() => renderMtaStsPolicy({ mailHost: "mail.example.com", mtaSts: { mode: "testing", maxAgeSeconds: 31557601 } })).toThrow(/max_age/);
    });
});

describe("_mta-sts id", () => {
    const model = devModel();

    it("is 1-32 letters and digits (RFC 8461 3.1), inside a v=STSv1 record", () => {
        expect(mtaStsTxt(model)).toMatch(/^v=STSv1; id=[A-Za-z0-9]{1,32}$/);
    });

    it("stays the same for the same policy (a second deploy changes nothing)", () => {
        expect(mtaStsPolicyId(renderMtaStsPolicy(devModel()))).toBe(mtaStsPolicyId(renderMtaStsPolicy(model)));
        expect(mtaStsTxt(parseModel(stackInput()))).toBe(mtaStsTxt(model));
        // Config that is not part of the policy does not change the id.
        expect(mtaStsTxt(parseModel(withConfig([{ key: "homemail:dkimSelector", value: "other" }])))).toBe(mtaStsTxt(model));
    });

    it("changes whenever the policy text changes (senders refetch exactly then)", () => {
        const variants = [
            withConfig([{ key: "homemail:mtaSts", value: { mode: "enforce" } }]),
            withConfig([{ key: "homemail:mtaSts", value: { mode: "none" } }]),
            withConfig([{ key: "homemail:mtaSts", value: { maxAgeSeconds: 86400 } }]),
            withConfig([{ key: "homemail:mailHost", value: "mx.example.com" }]),
        ].map((input) => parseModel(input));
        const ids = [model, ...variants].map((m) => mtaStsTxt(m));
        expect(new Set(ids).size).toBe(ids.length);
        // And the id is a function of the text alone: one changed byte, another id.
        const policy = renderMtaStsPolicy(model);
        expect(mtaStsPolicyId(policy.replace("testing", "testinG"))).not.toBe(mtaStsPolicyId(policy));
    });
});

describe("renderMtaStsPolicy on a hand-made model", () => {
    const model = { mailHost: "mail.example.com", mtaSts: { mode: "enforce" as const, maxAgeSeconds: 604800 } };

    it("lists version, mode, the mail host as MX and max_age, each line ending in CRLF (RFC 8461 3.2)", () => {
        const text = renderMtaStsPolicy(model);
        expect(text).toBe("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n");
        expect(text.split("\r\n").slice(0, -1).every((l) => !l.includes("\n"))).toBe(true);
    });

    it("follows the model's mode", () => {
        for (const mode of ["none", "testing", "enforce"] as const) {
            expect(renderMtaStsPolicy({ ...model, mtaSts: { ...model.mtaSts, mode } })).toContain(`\r\nmode: ${mode}\r\n`);
        }
    });

    it("refuses a max_age beyond the RFC's limit", () => {
        expect(() => renderMtaStsPolicy({ ...model, mtaSts: { ...model.mtaSts, maxAgeSeconds: 31557601 } })).toThrow(/max_age/);
    });
});
