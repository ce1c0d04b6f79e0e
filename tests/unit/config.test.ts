import { parseModel } from "../../components/config";
import { devModel, stackInput, withConfig } from "../helpers/stack";

describe("config model from the dev stack", () => {
    const model = devModel();

    it("resolves the example addresses into one address plan", () => {
        expect(model.addresses.vpsPublicIp).toBe("203.0.113.10");
        expect(model.addresses.wgHub).toBe("10.0.1.1");
        expect(model.addresses.wgSpoke).toBe("10.0.1.2");
        expect(model.addresses.mailuSubnet).toBe("192.168.203.0/24");
        // Mailu's resolver sits at the second-to-last address of its subnet.
        expect(model.addresses.mailuResolver).toBe("192.168.203.254");
        expect(model.addresses.mailuGateway).toBe("192.168.203.1");
        expect(model.addresses.gatewaySourceAddresses).toEqual(expect.arrayContaining(["10.0.1.1"]));
    });

    it("offers exactly the mail ports of the design and closes the cleartext ones", () => {
        const offered = model.ports.map((p) => p.publicPort);
        expect(offered).toEqual(expect.arrayContaining([25, 443, 465, 993, 995, 4190]));
        for (const closed of [110, 143, 587]) expect(offered).not.toContain(closed);
        expect(model.notOffered.map((p) => p.port).sort()).toEqual([110, 143, 587]);
        // Every public port is bound by exactly one row.
        expect(new Set(offered).size).toBe(offered.length);
        // SMTP is server-first: HAProxy takes it, never Traefik.
        expect(model.ports.find((p) => p.publicPort === 25)?.process).toBe("haproxy");
    });

    it("sends PROXY v2 on every raw-TCP port to Mailu, 443 included (the post forgot it)", () => {
        expect(model.proxyV2Ports).toEqual(model.ports.filter((p) => p.mode !== "http").map((p) => p.publicPort).sort((a, b) => a - b));
        expect(model.proxyV2Ports).toContain(443);
        expect(model.proxyV2Ports).not.toContain(80);
    });

    it("makes the admin a user and adds the standard role aliases to the admin", () => {
        const admin = model.users.find((u) => u.globalAdmin);
        expect(admin?.address).toBe("admin@example.com");
        expect(model.users.filter((u) => u.globalAdmin)).toHaveLength(1);
        for (const local of ["postmaster", "abuse", "hostmaster", "noc", "security", "webmaster"]) {
            const alias = model.aliases.find((a) => a.address === `${local}@example.com`);
            expect(alias?.destinations).toEqual(["admin@example.com"]);
        }
        expect(model.users.find((u) => u.address === "user@example.com")?.openpgpPublicKey).toContain("BEGIN PGP PUBLIC KEY BLOCK");
    });

    it("derives per-domain hostnames and zones", () => {
        expect(model.domains).toEqual([
            expect.objectContaining({ name: "example.com", kind: "primary", zone: "example.com", mtaStsHost: "mta-sts.example.com", openpgpkeyHost: "openpgpkey.example.com" }),
        ]);
        expect(model.passthroughHosts[0]).toBe("mail.example.com");
        expect(model.passthroughHosts).toEqual(expect.arrayContaining(["autoconfig.example.com", "autodiscover.example.com"]));
    });

    it("is deeply frozen plain data without secret values", () => {
        expect(Object.isFrozen(model)).toBe(true);
        expect(Object.isFrozen(model.addresses)).toBe(true);
        expect(Object.isFrozen(model.users[0])).toBe(true);
        expect(() => JSON.stringify(model)).not.toThrow();
    });

    it("is deterministic: the same config in another key order gives the same model", () => {
        const input = stackInput();
        const reversed = { ...input, values: Object.fromEntries(Object.entries(input.values).reverse()) };
        expect(JSON.stringify(parseModel(reversed))).toBe(JSON.stringify(model));
    });

    it("applies documented defaults when optional keys are absent", () => {
        const m = parseModel(withConfig([
            { key: "homemail:wireguard", value: undefined },
            { key: "homemail:mailSubnet", value: undefined },
            { key: "homemail:dkimSelector", value: undefined },
            { key: "homemail:mailHost", value: undefined },
            { key: "homemail:dmarc", value: undefined },
        ]));
        expect(m.addresses.wgNetwork).toBe("10.0.1.0/24");
        expect(m.addresses.wgPort).toBe(51820);
        expect(m.addresses.mailuSubnet).toBe("192.168.203.0/24");
        expect(m.dkim.selector).toBe("dkim");
        expect(m.mailHost).toBe("mail.example.com");
        expect(m.dmarc.policy).toBe("quarantine");
        expect(m.mtaSts.mode).toBe("testing");
        expect(m.egress.stateDir).toBe("/var/lib/homemail/smtp-egress");
    });

    it("accepts a multi-domain stack: extra domain in a second zone and an alternative domain", () => {
        const m = parseModel(withConfig([
            { key: "homemail:cloudflareZones", value: { "example.com": "0123456789abcdef0123456789abcdef", "example.org": "fedcba9876543210fedcba9876543210" } },
            { key: "homemail:extraDomains", value: ["example.org"] },
            { key: "homemail:alternativeDomains", value: { "example.com": ["mail-alt.example.org"] } },
            { key: "homemail:users", value: [{ address: "user@example.com" }, { address: "bob@example.org" }] },
        ]));
        expect(m.domains.map((d) => [d.name, d.kind, d.zone])).toEqual([
            ["example.com", "primary", "example.com"],
            ["example.org", "extra", "example.org"],
            ["mail-alt.example.org", "alternative", "example.org"],
        ]);
        expect(m.domains[2].alternativeOf).toBe("example.com");
        expect(m.aliases.filter((a) => a.domain === "example.org").map((a) => a.localPart)).toContain("postmaster");
    });

    it("takes a user's password from homemail:userPasswords when set there, else generates one", () => {
        const m = parseModel(withConfig([{ key: "homemail:userPasswords", value: { "User@Example.com": "correct horse battery staple" }, secret: true }]));
        const user = m.users.find((u) => u.address === "user@example.com");
        expect(user?.password).toEqual({ source: "config", ref: { configKey: "homemail:userPasswords", path: "user@example.com" } });
        expect(m.users.find((u) => u.address === "admin@example.com")?.password).toEqual({ source: "random" });
        // The model names the secret; it never holds its value.
        expect(JSON.stringify(m)).not.toContain("correct horse");
    });
});
