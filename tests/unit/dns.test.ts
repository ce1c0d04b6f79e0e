import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Model, parseModel } from "../../components/config";
import { permissionGroupIds } from "../../components/AcmeDnsToken";
import { acmeTokenSpec, dkimTxtValue, DnsRecordSpec, homeWanLeaks, nextSteps, parseTxtPresentation, registrarDs, renderDnsRecords, txtPresentation } from "../../components/render/dns";
import { devModel, REPO_ROOT, stackInput, withConfig } from "../helpers/stack";

const multiModel = () => parseModel(stackInput("multi"));
const byName = (records: DnsRecordSpec[], name: string, type?: string) =>
    records.filter((r) => r.name === name && (type === undefined || r.data.type === type));

/** A TXT value as tag=value pairs (DMARC/TLS-RPT/MTA-STS syntax: `;`-separated). */
function tags(text: string): Record<string, string> {
    return Object.fromEntries(text.split(";").map((t) => t.trim()).filter(Boolean).map((t) => [t.slice(0, t.indexOf("=")), t.slice(t.indexOf("=") + 1)]));
}

const txt = (r: DnsRecordSpec | undefined) => (r?.data.type === "TXT" ? r.data.text : undefined);

describe.each([
    ["dev", devModel],
    ["multi", multiModel],
])("DNS records of the %s stack", (_stack, load) => {
    const model: Model = load();
    const records = renderDnsRecords(model);

    it("gives every mail domain MX -> mail host, SPF, DKIM, DMARC, MTA-STS and TLS-RPT, once each", () => {
        for (const d of model.domains) {
            const mx = byName(records, d.name, "MX");
            expect(mx.map((r) => r.data)).toEqual([expect.objectContaining({ type: "MX", target: model.mailHost })]);
            expect(byName(records, d.name, "TXT").filter((r) => txt(r)!.startsWith("v=spf1"))).toHaveLength(1);
            expect(byName(records, `${model.dkim.selector}._domainkey.${d.name}`)).toHaveLength(1);
            expect(byName(records, `_dmarc.${d.name}`).map(txt)).toEqual([expect.stringMatching(/^v=DMARC1; p=/)]);
            expect(byName(records, `_mta-sts.${d.name}`).map(txt)).toEqual([expect.stringMatching(/^v=STSv1; id=/)]);
            expect(byName(records, `_smtp._tls.${d.name}`).map(txt)).toEqual([`v=TLSRPTv1; rua=mailto:${model.tlsRptAddress}`]);
        }
    });

    it("signs alternative domains with their parent's key, published under their own name", () => {
        for (const d of model.domains) {
            const [dkim] = byName(records, `${model.dkim.selector}._domainkey.${d.name}`);
            expect(dkim.data).toEqual({ type: "DKIM", domain: d.name, keyOf: d.alternativeOf ?? d.name });
            expect(dkim.zone).toBe(d.zone);
        }
    });

    it("derives the SRV records from the port table: offered services point at the mail host, closed ones are '0 0 0 .'", () => {
        for (const d of model.domains) {
            for (const p of model.ports) {
                if (!p.srv) continue;
                expect(byName(records, `${p.srv}.${d.name}`).map((r) => r.data)).toEqual([expect.objectContaining({ type: "SRV", port: p.publicPort, target: model.mailHost })]);
            }
            for (const p of model.notOffered) {
                if (!p.srv) continue;
                expect(byName(records, `${p.srv}.${d.name}`).map((r) => r.data)).toEqual([{ type: "SRV", priority: 0, weight: 0, port: 0, target: "." }]);
            }
        }
        const srvNames = new Set(records.filter((r) => r.data.type === "SRV").map((r) => r.name.split(".").slice(0, 2).join(".")));
        expect([...srvNames].sort()).toEqual([...model.ports, ...model.notOffered].map((p) => p.srv).filter((s): s is string => !!s).sort());
    });

    it("points the mail host and every web host at the VPS, and nothing at any other address", () => {
        const a = records.filter((r) => r.data.type === "A");
        expect(new Set(a.map((r) => (r.data.type === "A" ? r.data.address : "")))).toEqual(new Set([model.addresses.vpsPublicIp]));
        const hosts = [model.mailHost, ...model.extraHostnames, ...model.domains.flatMap((d) => [d.autoconfigHost, d.autodiscoverHost, d.mtaStsHost, d.openpgpkeyHost])];
        for (const h of hosts) expect(byName(records, h, "A")).toHaveLength(1);
        expect(a).toHaveLength(new Set(hosts).size);
    });

    it("never proxies a record that carries mail, MTA-STS or WKD; proxies only the listed pure web hosts", () => {
        const mailBearing = new Set([model.mailHost, ...model.domains.flatMap((d) => [d.name, d.mtaStsHost, d.openpgpkeyHost])]);
        for (const r of records) {
            if (r.data.type !== "A" || mailBearing.has(r.name)) expect({ key: r.key, proxied: r.proxied }).toEqual({ key: r.key, proxied: false });
            if (r.proxied) expect(model.cloudflare.proxiedHosts).toContain(r.name);
        }
        for (const h of model.cloudflare.proxiedHosts) {
            const rec = byName(records, h, "A");
            if (rec.length) expect(rec[0].proxied).toBe(true);
        }
    });

    it("publishes SPF 'only the VPS IP' for every domain and the HELO name (RFC 7208 syntax)", () => {
        const spf = records.filter((r) => txt(r)?.startsWith("v=spf1"));
        expect(spf.map((r) => r.name).sort()).toEqual([...new Set([...model.domains.map((d) => d.name), model.mailHost])].sort());
        for (const r of spf) {
            const terms = txt(r)!.split(" ");
            expect(terms[0]).toBe("v=spf1");
            expect(terms.at(-1)).toBe("-all");
            expect(terms.slice(1, -1)).toEqual([`ip4:${model.addresses.vpsPublicIp}`]);
            expect(terms.join(" ")).not.toContain(model.addresses.homeWanIp);
        }
    });

    it("publishes the configured DMARC policy, alignment and report address", () => {
        const alignment = { strict: "s", relaxed: "r" };
        for (const d of model.domains) {
            const t = tags(txt(byName(records, `_dmarc.${d.name}`)[0])!);
            expect(t).toEqual({
                v: "DMARC1",
                p: model.dmarc.policy,
                sp: model.dmarc.subdomainPolicy,
                rua: `mailto:${model.dmarc.reportAddress}`,
                adkim: alignment[model.dmarc.dkimAlignment],
                aspf: alignment[model.dmarc.spfAlignment],
            });
        }
    });

    it("lets only Let's Encrypt issue, no wildcards, iodef to the admin, covering every published name", () => {
        const caa = records.filter((r) => r.data.type === "CAA");
        const owners = [...new Set(caa.map((r) => r.name))];
        for (const o of owners) {
            expect(byName(records, o, "CAA").map((r) => r.data).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
                { type: "CAA", flags: 0, tag: "iodef", value: `mailto:${model.adminAddress}` },
                { type: "CAA", flags: 0, tag: "issue", value: "letsencrypt.org" },
                { type: "CAA", flags: 0, tag: "issuewild", value: ";" },
            ]);
        }
        for (const r of records.filter((x) => x.data.type === "A")) {
            expect({ name: r.name, covered: owners.some((o) => r.name === o || r.name.endsWith(`.${o}`)) }).toEqual({ name: r.name, covered: true });
        }
    });

    it("puts every record in the zone it belongs to, with a unique key, automatic TTL and a short comment", () => {
        for (const r of records) {
            expect(model.cloudflare.zones.map((z) => z.name)).toContain(r.zone);
            expect(r.name === r.zone || r.name.endsWith(`.${r.zone}`)).toBe(true);
            // The longest matching zone wins (a name under two zones goes to the inner one).
            expect(model.cloudflare.zones.filter((z) => r.name.endsWith(`.${z.name}`) && z.name.length > r.zone.length)).toEqual([]);
            expect(r.ttl).toBe(1);
            expect(r.comment.length).toBeLessThanOrEqual(100);
        }
        expect(new Set(records.map((r) => r.key)).size).toBe(records.length);
    });
});

describe("DNS records follow the model", () => {
    it("are deterministic and independent of the order domains are listed in", () => {
        const a = parseModel(stackInput("multi"));
        const input = stackInput("multi");
        const reversed = withConfig(
            [
                { key: "homemail:alternativeDomains", value: Object.fromEntries(Object.entries(JSON.parse(input.values["homemail:alternativeDomains"])).reverse()) },
                { key: "homemail:cloudflareZones", value: Object.fromEntries(Object.entries(JSON.parse(input.values["homemail:cloudflareZones"])).reverse()) },
            ],
            input,
        );
        expect(renderDnsRecords(parseModel(reversed))).toEqual(renderDnsRecords(a));
        expect(JSON.stringify(renderDnsRecords(a))).toBe(JSON.stringify(renderDnsRecords(parseModel(stackInput("multi")))));
    });

    it("moves every A record and the SPF of every name when the VPS IP changes (one source)", () => {
        const base = devModel();
        const moved = parseModel(withConfig([{ key: "homemail:vps", value: { publicIp: "203.0.113.99" } }]));
        const text = JSON.stringify(renderDnsRecords(moved));
        expect(text).not.toContain(base.addresses.vpsPublicIp);
        expect(renderDnsRecords(moved).filter((r) => r.data.type === "A").every((r) => r.data.type === "A" && r.data.address === "203.0.113.99")).toBe(true);
    });

    it("moves the SRV records with the port table (a port is never typed twice)", () => {
        const base = devModel();
        const ports = base.ports.map((p) => (p.srv === "_imaps._tcp" ? { ...p, publicPort: 10993 } : p));
        const records = renderDnsRecords({ ...base, ports });
        expect(byName(records, "_imaps._tcp.example.com").map((r) => r.data)).toEqual([expect.objectContaining({ port: 10993 })]);
        const withoutPop = renderDnsRecords({ ...base, ports: base.ports.filter((p) => p.srv !== "_pop3s._tcp") });
        expect(byName(withoutPop, "_pop3s._tcp.example.com")).toEqual([]);
    });

    it("authorises DMARC reports in a zone of ours, and tells the user to ask for it elsewhere (RFC 7489 7.1)", () => {
        const multi = parseModel(stackInput("multi"));
        const auth = renderDnsRecords(multi).filter((r) => r.name.includes("._report._dmarc."));
        // example.com receives the reports; example.org and example.net are other organisations.
        expect(auth.map((r) => [r.name, txt(r), r.zone])).toEqual([
            ["example.net._report._dmarc.example.com", "v=DMARC1", "example.com"],
            ["example.org._report._dmarc.example.com", "v=DMARC1", "example.com"],
        ]);
        const external = parseModel(withConfig([{ key: "homemail:dmarc", value: { reportAddress: "reports@dmarc.example.info" } }]));
        expect(renderDnsRecords(external).filter((r) => r.name.includes("._report._dmarc."))).toEqual([]);
        expect(nextSteps(external, []).join("\n")).toContain('TXT "v=DMARC1" at example.com._report._dmarc.dmarc.example.info');
    });
});

describe("DKIM TXT value", () => {
    it("carries the public key's DER (SubjectPublicKeyInfo) in base64, as RFC 6376 3.6.1 asks", () => {
        const pem = readFileSync(path.join(REPO_ROOT, "tests/fixtures/dkim/test-only-dkim.pub"), "utf8");
        const der = createPublicKey(pem).export({ type: "spki", format: "der" }).toString("base64");
        expect(dkimTxtValue(pem)).toBe(`v=DKIM1; k=rsa; p=${der}`);
        expect(Buffer.byteLength(dkimTxtValue(pem))).toBeGreaterThan(255);
    });

    it("refuses anything that is not a PEM public key (a private key must never reach DNS)", () => {
        const priv = readFileSync(path.join(REPO_ROOT, "tests/fixtures/dkim/test-only-dkim.key"), "utf8");
        expect(() => dkimTxtValue(priv)).toThrow(/PUBLIC KEY/);
        expect(() => dkimTxtValue("")).toThrow();
    });
});

describe("TXT presentation form (what Cloudflare stores, and the zone file holds)", () => {
    /** The character-strings of a presentation, each as its raw bytes (escapes resolved). */
    const strings = (p: string) => [...p.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => Buffer.from(m[1].replace(/\\([0-9]{3})/g, (_x, d: string) => String.fromCharCode(Number(d))).replace(/\\(.)/g, "$1"), "latin1"));

    it("quotes short values as one string and splits long ones into strings of at most 255 bytes", () => {
        expect(txtPresentation("v=spf1 ip4:203.0.113.10 -all")).toBe('"v=spf1 ip4:203.0.113.10 -all"');
        const long = `v=DKIM1; k=rsa; p=${"A".repeat(392)}`;
        const parts = strings(txtPresentation(long));
        expect(parts.map((b) => b.length)).toEqual([255, long.length - 255]);
        expect(Buffer.concat(parts).toString()).toBe(long);
    });

    it("round-trips any value, quotes, backslashes and non-ASCII included", () => {
        for (const v of ["", 'a"b\\c', "x".repeat(255), "x".repeat(256), "grüße ✉ ".repeat(60), "tab\there"]) {
            const p = txtPresentation(v);
            expect(parseTxtPresentation(p)).toBe(v);
            for (const b of strings(p)) expect(b.length).toBeLessThanOrEqual(255);
            expect(p).toMatch(/^[\x20-\x7e]*$/);
        }
    });

    it("does not mistake an unquoted value for a presentation", () => {
        expect(parseTxtPresentation("v=spf1 -all")).toBeUndefined();
        expect(parseTxtPresentation('"unterminated')).toBeUndefined();
    });
});

describe("ACME dns-01 token", () => {
    it("covers exactly the stack's zones, with Zone Read and DNS Write, from the VPS IP only", () => {
        const m = parseModel(stackInput("multi"));
        const spec = acmeTokenSpec(m);
        const zoneIds = JSON.parse(stackInput("multi").values["homemail:cloudflareZones"]) as Record<string, string>;
        expect(JSON.parse(spec.resources)).toEqual(Object.fromEntries(Object.values(zoneIds).map((id) => [`com.cloudflare.api.account.zone.${id}`, "*"])));
        expect([...spec.permissionGroups].sort()).toEqual(["DNS Write", "Zone Read"]);
        expect(spec.allowedFrom).toEqual(["203.0.113.10/32"]);
        expect(spec.zones).toEqual(["example.com", "example.net", "example.org"]);
    });

    it("also allows the VPS's IPv6 when homemail:vps.publicIpv6 is set (lego prefers IPv6 when it reaches Cloudflare), in canonical form", () => {
        const vps = JSON.parse(stackInput().values["homemail:vps"]) as Record<string, unknown>;
        const m = parseModel(withConfig([{ key: "homemail:vps", value: { ...vps, publicIpv6: "2001:DB8:0:0::10" } }]));
        expect(acmeTokenSpec(m).allowedFrom).toEqual([`${m.addresses.vpsPublicIp}/32`, "2001:db8::10/128"]);
        expect(acmeTokenSpec(parseModel(stackInput())).allowedFrom).toEqual([`${m.addresses.vpsPublicIp}/32`]);
    });

    it("picks permission-group ids by exact name and refuses a missing or ambiguous group", () => {
        const groups = [
            { id: "a", name: "Zone Read" },
            { id: "b", name: "DNS Write" },
            { id: "c", name: "DNS Read" },
        ];
        expect(permissionGroupIds(groups, ["Zone Read", "DNS Write"])).toEqual(["a", "b"]);
        expect(() => permissionGroupIds(groups.slice(0, 1), ["Zone Read", "DNS Write"])).toThrow(/DNS Write/);
        expect(() => permissionGroupIds([...groups, { id: "d", name: "Zone Read" }], ["Zone Read"])).toThrow(/2 times/);
    });
});

describe("manual steps", () => {
    it("give the registrar the DS with every field and a zone-file line", () => {
        const ds = registrarDs("example.com", { keyTag: 2371, algorithm: 13, digestType: 2, digest: "1f98ab" });
        expect(ds.record).toBe("example.com. IN DS 2371 13 2 1F98AB");
        for (const part of ["2371", "13 (ECDSAP256SHA256)", "2 (SHA-256)", "1F98AB", "example.com"]) expect(ds.instruction).toContain(part);
    });

    it("start with the PTR of the VPS IP, then one DS step per zone", () => {
        const m = parseModel(stackInput("multi"));
        const ds = ["example.org", "example.com", "example.net"].map((z) => registrarDs(z, { keyTag: 1, algorithm: 13, digestType: 2, digest: "AA" }));
        const steps = nextSteps(m, ds);
        expect(steps[0]).toContain("203.0.113.10");
        expect(steps[0]).toContain("mail.example.com");
        expect(steps.slice(1).map((s) => /registrar of (\S+),/.exec(s)?.[1])).toEqual(["example.com", "example.net", "example.org"]);
    });
});

describe("home.wanIp is never published (render invariant)", () => {
    it("refuses to render records that would publish the home address or let an SPF mechanism cover it", () => {
        const model = devModel();
        // The config refuses home.wanIp = vps.publicIp; the renderer must refuse it on its own too,
        // because every A record and every SPF would then name the home connection.
        const leaky: Model = { ...model, addresses: { ...model.addresses, homeWanIp: model.addresses.vpsPublicIp } };
        expect(() => renderDnsRecords(leaky)).toThrow(new RegExp(`${model.mailHost} publishes home\\.wanIp ${model.addresses.vpsPublicIp.replace(/\./g, "\\.")}`));
        expect(() => renderDnsRecords(model)).not.toThrow();
    });

    it("finds the address as a literal and SPF ip4 networks that cover it, and nothing that only looks alike", () => {
        const home = "198.51.100.20";
        const leaks = (values: string[]) => homeWanLeaks(home, [{ name: "example.com", values }]);
        expect(leaks(["v=spf1 ip4:198.51.100.0/24 -all"])).toEqual(["example.com: SPF mechanism ip4:198.51.100.0/24 covers home.wanIp 198.51.100.20"]);
        expect(leaks(["v=spf1 ~ip4:198.51.0.0/16 ip4:203.0.113.10 -all"])).toHaveLength(1);
        expect(leaks(["198.51.100.20"])).toHaveLength(1);
        expect(leaks(["v=DMARC1; rua=mailto:postmaster@[198.51.100.20]"])).toHaveLength(1);
        expect(leaks(["198.51.100.201", "198.51.100.2", "10.198.51.100.20", "v=spf1 ip4:198.51.100.21 ip4:198.51.100.0/28 -all"])).toEqual([]);
    });
});
