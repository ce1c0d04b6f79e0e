/**
 * DnsZone and AcmeDnsToken in the real program under Pulumi mocks: the resource graph (one zone
 * component per Cloudflare zone, children named and parented to it, protection where a delete
 * would hurt), the token's scope, and the stack outputs (complete, and free of secrets).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseModel } from "../../components/config";
import type { ProgramRun, RecordedResource } from "../../scripts/lib/mockEngine";
import { isSecretValue, plainValue } from "../../scripts/lib/mockEngine";
import { runDevProgram } from "../helpers/program";
import { REPO_ROOT, stackInput } from "../helpers/stack";

const FIXTURES = path.join(REPO_ROOT, "tests/fixtures");
const fixtures = JSON.parse(readFileSync(path.join(FIXTURES, "provider-outputs.json"), "utf8"));
const groupId = (name: string): string =>
    fixtures.invokes["cloudflare:index/getApiTokenPermissionGroupsList:getApiTokenPermissionGroupsList"].results.find((g: { name: string }) => g.name === name).id;
const fixturePublicKeyBase64 = readFileSync(path.join(FIXTURES, "dkim/test-only-dkim.pub"), "utf8").replace(/-----[A-Z ]+-----|\s/g, "");

const plain = plainValue;

describe.each(["dev", "multi"])("DNS components of the %s stack (mocks)", (stack) => {
    const input = stackInput(stack);
    const model = parseModel(input);
    const zoneIds = JSON.parse(input.values["homemail:cloudflareZones"]) as Record<string, string>;
    let run: ProgramRun;
    let zones: RecordedResource[];
    const ofType = (t: string) => run.resources.filter((r) => r.type === t);

    beforeAll(async () => {
        run = await runDevProgram(input);
        zones = ofType("homemail:dns:DnsZone");
    });

    it("makes one DnsZone per Cloudflare zone, named dns-<zone>", () => {
        expect(zones.map((z) => z.name).sort()).toEqual(Object.keys(zoneIds).sort().map((z) => `dns-${z}`));
    });

    it("parents every record, key and DNSSEC to its zone component, named <zone component>-<role>, in that zone's id", () => {
        const children = [...ofType("cloudflare:index/dnsRecord:DnsRecord"), ...ofType("cloudflare:index/zoneDnssec:ZoneDnssec"), ...ofType("tls:index/privateKey:PrivateKey")];
        expect(children.length).toBeGreaterThan(0);
        for (const c of children) {
            const parent = zones.find((z) => z.urn === c.parent);
            expect({ name: c.name, parent: parent?.name }).toEqual({ name: c.name, parent: expect.any(String) });
            expect(c.name.startsWith(`${parent!.name}-`)).toBe(true);
            expect(c.urn).toContain("homemail:dns:DnsZone$");
            if (c.type !== "tls:index/privateKey:PrivateKey") expect(plain(c.inputs.zoneId)).toBe(zoneIds[parent!.name.slice("dns-".length)]);
        }
    });

    it("makes one RSA-2048 DKIM key per main domain (none for alternative domains), protected", () => {
        const keys = ofType("tls:index/privateKey:PrivateKey");
        expect(keys.map((k) => k.name).sort()).toEqual(model.domains.filter((d) => d.kind !== "alternative").map((d) => `dns-${d.zone}-dkim-${d.name}`).sort());
        for (const k of keys) {
            expect(k.inputs).toEqual(expect.objectContaining({ algorithm: "RSA", rsaBits: 2048 }));
            expect(k.options.protect).toBe(true);
        }
    });

    it("turns DNSSEC on in every zone, protected (deleting it under a live DS breaks the zone)", () => {
        const dnssec = ofType("cloudflare:index/zoneDnssec:ZoneDnssec");
        expect(dnssec.map((d) => plain(d.inputs.zoneId)).sort()).toEqual(Object.values(zoneIds).sort());
        for (const d of dnssec) {
            expect(d.inputs.status).toBe("active");
            expect(d.options.protect).toBe(true);
        }
        // Records are not protected: they are cheap to recreate and must follow the config.
        expect(ofType("cloudflare:index/dnsRecord:DnsRecord").every((r) => !r.options.protect)).toBe(true);
    });

    it("leaves every mail record grey (DNS only); only listed pure web hosts are orange", () => {
        const mailHosts = new Set([model.mailHost, ...model.domains.flatMap((d) => [d.name, d.mtaStsHost, d.openpgpkeyHost])]);
        for (const r of ofType("cloudflare:index/dnsRecord:DnsRecord")) {
            const proxied = plain(r.inputs.proxied) === true;
            if (proxied) expect(model.cloudflare.proxiedHosts).toContain(plain(r.inputs.name));
            if (mailHosts.has(String(plain(r.inputs.name))) || plain(r.inputs.type) !== "A") expect({ name: r.name, proxied }).toEqual({ name: r.name, proxied: false });
        }
        if (stack === "multi") {
            const proxied = ofType("cloudflare:index/dnsRecord:DnsRecord").filter((r) => plain(r.inputs.proxied) === true).map((r) => plain(r.inputs.name));
            expect(proxied).toEqual(["autoconfig.example.org"]);
        }
    });

    it("sends every SRV record with a top-level priority equal to data.priority (terraform-provider-cloudflare #6684: without it, a permanent diff)", () => {
        const srv = ofType("cloudflare:index/dnsRecord:DnsRecord").filter((r) => plain(r.inputs.type) === "SRV");
        expect(srv.length).toBeGreaterThan(0);
        for (const r of srv) {
            const data = plain(r.inputs.data) as { priority: number };
            expect({ name: r.name, priority: plain(r.inputs.priority) }).toEqual({ name: r.name, priority: data.priority });
        }
    });

    it("sends TXT content in presentation form (quoted strings of at most 255 bytes), as Cloudflare stores it", () => {
        const txt = ofType("cloudflare:index/dnsRecord:DnsRecord").filter((r) => plain(r.inputs.type) === "TXT");
        expect(txt.length).toBeGreaterThan(0);
        for (const r of txt) {
            const content = String(plain(r.inputs.content));
            expect(content).toMatch(/^"(?:[^"\\]|\\.)*"(?: "(?:[^"\\]|\\.)*")*$/);
            for (const m of content.matchAll(/"((?:[^"\\]|\\.)*)"/g)) expect(Buffer.byteLength(m[1])).toBeLessThanOrEqual(255);
        }
        const dkim = txt.filter((r) => String(plain(r.inputs.name)).includes("._domainkey."));
        for (const r of dkim) expect(String(plain(r.inputs.content)).replace(/" "/g, "").replace(/^"|"$/g, "")).toBe(`v=DKIM1; k=rsa; p=${fixturePublicKeyBase64}`);
    });

    it("makes one ACME token: Zone Read + DNS Write on exactly the stack's zones, only from the VPS IP", () => {
        const tokens = ofType("cloudflare:index/apiToken:ApiToken");
        expect(tokens).toHaveLength(1);
        const t = tokens[0];
        expect(t.urn).toContain("homemail:dns:AcmeDnsToken$");
        const policies = plain(t.inputs.policies) as { effect: string; permissionGroups: { id: string }[]; resources: string }[];
        expect(policies).toHaveLength(1);
        expect(policies[0].effect).toBe("allow");
        expect(policies[0].permissionGroups.map((g) => g.id).sort()).toEqual([groupId("Zone Read"), groupId("DNS Write")].sort());
        expect(Object.keys(JSON.parse(policies[0].resources)).sort()).toEqual(Object.values(zoneIds).map((id) => `com.cloudflare.api.account.zone.${id}`).sort());
        expect(plain(t.inputs.condition)).toEqual({ requestIp: { ins: [`${model.addresses.vpsPublicIp}/32`] } });
    });

    it("exports dkim (every domain, the key's public half), dmarc, spf, registrarDs, ptr and nextSteps", () => {
        const o = run.outputs;
        const dkim = o.dkim as { domain: string; keyOf: string; name: string; value: string }[];
        expect(dkim.map((d) => d.domain).sort()).toEqual(model.domains.map((d) => d.name).sort());
        for (const d of dkim) {
            expect(d.name).toBe(`${model.dkim.selector}._domainkey.${d.domain}`);
            expect(d.value).toBe(`v=DKIM1; k=rsa; p=${fixturePublicKeyBase64}`);
            expect(d.keyOf).toBe(model.domains.find((x) => x.name === d.domain)!.alternativeOf ?? d.domain);
        }
        expect((o.dmarc as { name: string }[]).map((d) => d.name).sort()).toEqual(model.domains.map((d) => `_dmarc.${d.name}`).sort());
        expect((o.spf as { name: string }[]).length).toBeGreaterThanOrEqual(model.domains.length);
        const ds = o.registrarDs as { zone: string; keyTag: number; digest: string }[];
        const fx = fixtures.byType["cloudflare:index/zoneDnssec:ZoneDnssec"];
        expect(ds.map((d) => d.zone).sort()).toEqual(Object.keys(zoneIds).sort());
        for (const d of ds) expect(d).toEqual(expect.objectContaining({ keyTag: fx.keyTag, digest: fx.digest }));
        expect(o.ptr).toEqual(expect.objectContaining({ ip: model.addresses.vpsPublicIp, name: model.mailHost }));
        const steps = (o.nextSteps as string[]).join("\n");
        expect(steps).toContain(model.addresses.vpsPublicIp);
        expect(steps).toContain(fx.digest);
    });

    it("puts no secret into a stack output: no private key, no token value, nothing marked secret", () => {
        // Only the mailbox passwords and Mailu's API token are secret outputs, by design (HomeMailServer).
        const secretByDesign = new Set(["mailUserPasswords", "mailApiToken"]);
        for (const key of ["dkim", "dmarc", "spf", "registrarDs", "ptr", "acmeToken", "nextSteps"]) expect(run.outputs).toHaveProperty(key);
        for (const [key, value] of Object.entries(run.outputs)) {
            if (!secretByDesign.has(key)) expect({ key, secret: isSecretValue(value) }).toEqual({ key, secret: false });
            const text = JSON.stringify(value) ?? ""; // an unset output (mailApiToken without the API)
            expect(text).not.toMatch(/PRIVATE KEY/);
            expect(text).not.toContain(fixtures.byType["cloudflare:index/apiToken:ApiToken"].value);
        }
    });
});

describe("DNS component outputs handed to other components", () => {
    it("keeps the DKIM private keys and the ACME token secret", async () => {
        const captured: Record<string, unknown> = {};
        await jest.isolateModulesAsync(async () => {
            const pulumi = await import("@pulumi/pulumi");
            const { runProgram } = await import("../../scripts/lib/mockEngine");
            const input = stackInput("multi");
            const run = await runProgram({
                pulumi,
                project: input.project,
                stack: input.stack,
                config: { ...input.values },
                secretKeys: [...input.secretKeys],
                load: async () => {
                    const { loadModel } = await import("../../components/config/load");
                    const { createDnsZones } = await import("../../components/DnsZone");
                    const { AcmeDnsToken } = await import("../../components/AcmeDnsToken");
                    const model = loadModel();
                    const dns = createDnsZones(model);
                    // One export per key: a record holding a secret would be resolved as one secret.
                    const keys = Object.fromEntries(Object.entries(dns.dkimPrivateKeys).map(([d, k]) => [`key ${d}`, k]));
                    return { ...keys, token: new AcmeDnsToken("acme-dns", { model }).token };
                },
            });
            Object.assign(captured, run.outputs);
        });
        const keys = Object.fromEntries(Object.entries(captured).filter(([k]) => k.startsWith("key ")));
        expect(Object.keys(keys).sort()).toEqual(["key example.com", "key example.org"]);
        for (const v of Object.values(keys)) {
            expect(isSecretValue(v)).toBe(true);
            expect(String((v as { value: unknown }).value)).toMatch(/BEGIN RSA PRIVATE KEY/);
        }
        expect(captured.token).toEqual({ secret: true, value: expect.stringContaining("test-only-cloudflare-acme-token") });
    });
});
