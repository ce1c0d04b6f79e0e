import { renderZoneFile, txtStrings } from "../../scripts/lib/zoneFile";

describe("zone file writer", () => {
    it("splits TXT values over 255 bytes into several strings, none longer than 255", () => {
        const value = "v=DKIM1; k=rsa; p=" + "A".repeat(400);
        const parts = [...txtStrings(value).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
        expect(parts.length).toBe(2);
        expect(parts.every((p) => Buffer.byteLength(p) <= 255)).toBe(true);
        expect(parts.join("")).toBe(value);
    });

    it("escapes quotes and backslashes inside TXT", () => {
        expect(txtStrings('a"b\\c')).toBe('"a\\"b\\\\c"');
    });

    it("writes absolute owner names and a synthetic SOA/NS", () => {
        const text = renderZoneFile("example.com", [
            { zone: "example.com", name: "example.com", type: "MX", content: "mail.example.com", ttl: 1, proxied: false, priority: 10, data: null },
            { zone: "example.com", name: "_imap._tcp.example.com", type: "SRV", content: null, ttl: 1, proxied: false, priority: null, data: { priority: 0, weight: 0, port: 0, target: "." } },
        ]);
        expect(text).toContain("example.com. 300 IN MX 10 mail.example.com.");
        expect(text).toContain("_imap._tcp.example.com. 300 IN SRV 0 0 0 .");
        expect(text).toMatch(/IN SOA /);
        for (const line of text.split("\n").filter((l) => l && !l.startsWith(";") && !l.startsWith("$"))) expect(line.split(" ")[0]).toMatch(/\.$/);
    });
});
