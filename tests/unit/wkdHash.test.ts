import { asciiLowercase, splitAddress, wkdHash, wkdPath, wkdUrl, zBase32 } from "../../components/render/wkdHash";

describe("wkdHash", () => {
    it("matches the draft's example (Joe.Doe@Example.ORG)", () => {
        // draft-koch-openpgp-webkey-service, section 3.1
        expect(wkdHash("Joe.Doe")).toBe("iy9q119eutrkn8s1mk4r39qejnbu3n5q");
        expect(wkdUrl("Joe.Doe@Example.ORG")).toBe(
            "https://openpgpkey.example.org/.well-known/openpgpkey/example.org/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=joe.doe",
        );
    });

    it("maps only ASCII letters to lower case", () => {
        expect(wkdHash("USER")).toBe(wkdHash("user"));
        expect(asciiLowercase("JÖRG")).toBe("jÖrg");
        expect(wkdHash("JÖRG")).toBe(wkdHash("jÖrg"));
        expect(wkdHash("JÖRG")).not.toBe(wkdHash("jörg"));
    });

    it("is always 32 z-base-32 characters", () => {
        for (const local of ["a", "user", "first.last+tag", "x".repeat(64), "ü"]) {
            expect(wkdHash(local)).toMatch(/^[ybndrfg8ejkmcpqxot1uwisza345h769]{32}$/);
        }
    });

    it("encodes z-base-32 most significant bit first, zero-padding the last group", () => {
        expect(zBase32(new Uint8Array([]))).toBe("");
        expect(zBase32(new Uint8Array([0x00]))).toBe("yy");
        expect(zBase32(new Uint8Array([0xff]))).toBe("9h");
        expect(zBase32(new Uint8Array([0xf0, 0xbf, 0xc7]))).toBe("6n9hq"); // 11110 00010 11111 11100 0111(0)
    });

    it("splits at the last @ and builds the path with the lower-cased domain", () => {
        expect(splitAddress('"a@b"@example.com')).toEqual({ localPart: '"a@b"', domain: "example.com" });
        expect(() => splitAddress("no-at-sign")).toThrow(/not a mail address/);
        expect(wkdPath("Example.COM", "User")).toBe(`/.well-known/openpgpkey/example.com/hu/${wkdHash("user")}`);
    });
});
