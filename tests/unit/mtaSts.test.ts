import { renderMtaStsPolicy } from "../../components/render/mtaSts";

describe("renderMtaStsPolicy", () => {
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
