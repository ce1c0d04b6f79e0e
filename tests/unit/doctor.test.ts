/**
 * The doctor's core: selection, dependency order and skips, the report (grouping, summary, JSON,
 * exit code), argument parsing, and the pure judges (record ownership, RRset comparison, WireGuard
 * handshake age, ssh argv). The CLI's exit codes are checked by running it (loopback only).
 */
import { spawnSync } from "node:child_process";
import * as dgram from "node:dgram";
import * as path from "node:path";
import { parse } from "yaml";
import { parseDoctorArgs, UsageError } from "../../scripts/lib/doctor/args";
import { Check, fail, ok, Result, warn } from "../../scripts/lib/doctor/check";
import { compareSets } from "../../scripts/lib/doctor/checks/dns";
import { handshakeFinding, HANDSHAKE_FAIL_SECONDS, HANDSHAKE_OK_SECONDS } from "../../scripts/lib/doctor/checks/inside";
import { expectedSets, ownerOf } from "../../scripts/lib/doctor/checks/records";
import { expiryFinding } from "../../scripts/lib/doctor/checks/tls";
import { blocklistFinding } from "../../scripts/lib/doctor/checks/blocklists";
import { delvFinding, dsFinding } from "../../scripts/lib/doctor/checks/dnssec";
import type { DoctorContext } from "../../scripts/lib/doctor/context";
import type { DnsAnswer } from "../../scripts/lib/doctor/dns";
import { loadRenderSet } from "../../scripts/lib/doctor/inputs";
import { allChecks } from "../../scripts/lib/doctor/registry";
import { exitCode, formatJson, formatTable, grouped, summarize } from "../../scripts/lib/doctor/report";
import { dependencyOrder, runChecks, unknownSelectors } from "../../scripts/lib/doctor/runner";
import { sshArgv } from "../../scripts/lib/doctor/ssh";
import { devModel, REPO_ROOT } from "../helpers/stack";

type T = Check<Record<string, never>>;
const ALL = { only: [], skip: [] };
const probe = (id: string, finding = ok("fine"), extra: Partial<T> = {}): T => ({ id, area: (id.split(".")[0] as T["area"]), title: id, run: async () => finding, ...extra });
const byId = (rs: Result[]) => Object.fromEntries(rs.map((r) => [r.id, r]));

describe("doctor runner", () => {
    it("runs a check after the ones it needs, whatever the order they were listed in", async () => {
        const seen: string[] = [];
        const track = (id: string, extra: Partial<T> = {}): T => ({ ...probe(id), run: async () => (seen.push(id), ok("fine")), ...extra });
        await runChecks([track("dns.b", { needs: ["dns.a"] }), track("dns.a"), track("web.c", { after: ["dns.b"] })], ALL, {}, { hasOutputs: true });
        expect(seen).toEqual(["dns.a", "dns.b", "web.c"]);
    });

    it("a check whose need failed says skipped: depends on <check>, down the chain, and is not run", async () => {
        const run = jest.fn(async () => ok("fine"));
        const results = byId(
            await runChecks(
                [probe("inside.ssh:home", fail("no ssh", "ssh-add")), { ...probe("inside.wg:home"), needs: ["inside.ssh:home"], run }, { ...probe("inside.egress:home"), needs: ["inside.ssh:home"], after: ["inside.wg:home"], run }],
                ALL,
                {},
                { hasOutputs: true },
            ),
        );
        expect(results["inside.wg:home"]).toMatchObject({ status: "skipped", detail: "depends on inside.ssh:home", dependsOn: "inside.ssh:home" });
        expect(results["inside.egress:home"]).toMatchObject({ status: "skipped", dependsOn: "inside.ssh:home" });
        expect(run).not.toHaveBeenCalled();
    });

    it("a warn satisfies a need; a skipped need does not", async () => {
        const results = byId(await runChecks([probe("dns.a", warn("slow")), probe("dns.b", ok("x"), { needs: ["dns.a"] }), probe("dns.c", ok("x"), { needsOutputs: true }), probe("dns.d", ok("x"), { needs: ["dns.c"] })], ALL, {}, { hasOutputs: false }));
        expect(results["dns.b"].status).toBe("ok");
        expect(results["dns.c"]).toMatchObject({ status: "skipped", detail: "no outputs" });
        expect(results["dns.d"]).toMatchObject({ status: "skipped", detail: "depends on dns.c" });
    });

    it("`after` skips only when the earlier check ran and did not pass; left out, it does not hold the check back", async () => {
        const checks = [probe("inside.wg:home", fail("down", "wg-quick up wg0")), probe("identity.smtp-banner", ok("220"), { after: ["inside.wg:home"] })];
        expect(byId(await runChecks(checks, ALL, {}, { hasOutputs: true }))["identity.smtp-banner"]).toMatchObject({ status: "skipped", dependsOn: "inside.wg:home" });
        const withoutInside = await runChecks(checks, { only: [], skip: ["inside"] }, {}, { hasOutputs: true });
        expect(withoutInside.map((r) => [r.id, r.status])).toEqual([["identity.smtp-banner", "ok"]]);
    });

    it("a need left out by --only skips the check and says so", async () => {
        const results = await runChecks([probe("web.mta-sts:a"), probe("dns.mta-sts-id:a", ok("x"), { needs: ["web.mta-sts:a"] })], { only: ["dns"], skip: [] }, {}, { hasOutputs: true });
        expect(results).toEqual([expect.objectContaining({ id: "dns.mta-sts-id:a", status: "skipped", detail: "depends on web.mta-sts:a (not selected)" })]);
    });

    it("--only/--skip take areas, ids and id prefixes; a selector matching nothing is reported", async () => {
        const checks = [probe("dns.spf:a"), probe("dns.spf:b"), probe("dns.mx:a"), probe("web.wkd:u@a")];
        const ids = async (sel: { only: string[]; skip: string[] }) => (await runChecks(checks, sel, {}, { hasOutputs: true })).map((r) => r.id);
        expect(await ids({ only: ["dns.spf"], skip: [] })).toEqual(["dns.spf:a", "dns.spf:b"]);
        expect(await ids({ only: ["dns"], skip: ["dns.spf:b"] })).toEqual(["dns.spf:a", "dns.mx:a"]);
        expect(await ids({ only: [], skip: ["dns"] })).toEqual(["web.wkd:u@a"]);
        expect(unknownSelectors(checks, { only: ["dns", "identity", "dns.spf", "dns.nope", "tls"], skip: ["inside"] })).toEqual(["dns.nope"]);
    });

    it("a probe that throws is a fail naming the error, and the run goes on", async () => {
        const results = byId(await runChecks([probe("dns.a", ok("x"), { run: async () => { throw new Error("socket hang up\nat ..."); } }), probe("dns.b")], ALL, {}, { hasOutputs: true }));
        expect(results["dns.a"]).toMatchObject({ status: "fail", detail: "the check itself failed: socket hang up" });
        expect(results["dns.a"].fix).toBeTruthy();
        expect(results["dns.b"].status).toBe("ok");
    });

    it("refuses unknown dependencies, cycles and duplicate ids", () => {
        expect(() => dependencyOrder([probe("dns.a", ok("x"), { needs: ["dns.zz"] })])).toThrow(/unknown check dns.zz/);
        expect(() => dependencyOrder([probe("dns.a", ok("x"), { needs: ["dns.b"] }), probe("dns.b", ok("x"), { after: ["dns.a"] })])).toThrow(/cycle/);
        expect(() => dependencyOrder([probe("dns.a"), probe("dns.a")])).toThrow(/two checks named dns.a/);
    });
});

describe("doctor report", () => {
    const row = (id: string, status: Result["status"], extra: Partial<Result> = {}): Result => ({ id, area: id.split(".")[0] as Result["area"], title: id, status, detail: `${status} detail`, ms: 1, ...extra });
    const results = [row("dns.mx:a", "ok"), row("dns.spf:a", "fail", { fix: "delete the TXT \"v=spf1 a -all\"" }), row("web.wkd:u@a", "ok"), row("inside.wg:home", "fail", { fix: "wg-quick up wg0" }), row("inside.egress:home", "skipped", { detail: "depends on inside.wg:home", dependsOn: "inside.wg:home" }), row("identity.ptr", "warn")];

    it("groups by area, areas with a fail first, and fails first inside an area", () => {
        expect(grouped(results).map((g) => [g.area, g.rows.map((r) => r.status)])).toEqual([
            ["dns", ["fail", "ok"]],
            ["inside", ["fail", "skipped"]],
            ["identity", ["warn"]],
            ["web", ["ok"]],
        ]);
    });

    it("an area whose checks were all skipped keeps its place after the ok ones, not before them", () => {
        const all = [row("drift.refresh", "skipped", { detail: "no Pulumi CLI on PATH" }), row("dns.mx:a", "ok"), row("web.wkd:u@a", "ok")];
        expect(grouped(all).map((g) => g.area)).toEqual(["dns", "web", "drift"]);
    });

    it("the table shows each fail with its fix, skips with their reason, and a summary line", () => {
        const text = formatTable("prod", results, 2.04);
        expect(text).toMatch(/^homemail doctor, stack prod\n/);
        expect(text).toMatch(/FAIL {2}dns\.spf:a +fail detail\n +fix: delete the TXT "v=spf1 a -all"\n/);
        expect(text).toMatch(/skip {2}inside\.egress:home +skipped: depends on inside\.wg:home\n/);
        expect(text.trimEnd().split("\n").pop()).toBe("6 checks: 2 fail, 1 warn, 1 skipped, 2 ok (2.0 s)");
    });

    it("--json carries every check with status, detail, fix and dependsOn, and the summary", () => {
        const json = JSON.parse(formatJson("prod", results, 1)) as { stack: string; summary: unknown; checks: Result[] };
        expect(json.stack).toBe("prod");
        expect(json.summary).toEqual(summarize(results));
        expect(json.checks).toHaveLength(results.length);
        expect(json.checks.find((c) => c.id === "inside.egress:home")).toMatchObject({ status: "skipped", dependsOn: "inside.wg:home" });
    });

    it("exit code: 0 when nothing failed (warn and skipped included), 1 on any fail", () => {
        expect(exitCode(results)).toBe(1);
        expect(exitCode(results.filter((r) => r.status !== "fail"))).toBe(0);
        expect(exitCode([])).toBe(0);
    });
});

describe("doctor arguments", () => {
    it("parses every option", () => {
        expect(parseDoctorArgs(["--stack", "prod", "--json", "--only", "dns,tls", "--skip", "inside", "--dns-server", "192.0.2.53", "--dns-server", "127.0.0.1:5353", "--ca-file", "ca.pem", "--ssh-config", "cfg", "--outputs", "o.json", "--timeout", "2000", "--dnsbl-zone", "zen.example.net", "--dbl-zone", "DBL.example.net.", "--blocklist-resolver", "192.0.2.1", "--trust-anchor", "anchors.conf"])).toEqual({
            stack: "prod", json: true, only: ["dns", "tls"], skip: ["inside"], dnsServers: ["192.0.2.53", "127.0.0.1:5353"], caFile: "ca.pem", trustAnchor: "anchors.conf", sshConfig: "cfg", outputsFile: "o.json", timeoutMs: 2000,
            blocklists: { ipZone: "zen.example.net", domainZone: "dbl.example.net", resolver: "192.0.2.1" },
        });
        expect(parseDoctorArgs([])).toMatchObject({ blocklists: { ipZone: "zen.spamhaus.org", domainZone: "dbl.spamhaus.org" } });
        expect(parseDoctorArgs([])).toMatchObject({ stack: "dev", json: false, only: [], skip: [], dnsServers: [] });
        expect(parseDoctorArgs(["--help"])).toBe("help");
    });

    it.each([
        [["--bogus"], /unknown argument --bogus/],
        [["--stack"], /--stack needs a value/],
        [["--stack", "a/b"], /bad stack name/],
        [["--dns-server", "ns1.example.com"], /give an IP address/],
        [["--timeout", "5s"], /milliseconds/],
        [["--dnsbl-zone", "zen"], /give a DNS zone name/],
        [["--blocklist-resolver", "resolver.example"], /give an IP address/],
    ])("%j is a usage error", (argv, message) => {
        expect(() => parseDoctorArgs(argv)).toThrow(UsageError);
        expect(() => parseDoctorArgs(argv)).toThrow(message);
    });
});

describe("doctor judges", () => {
    // One render per test process: the mock engine runs the program once.
    let devRender: ReturnType<typeof loadRenderSet> | undefined;
    const renderDev = () => (devRender ??= loadRenderSet("dev"));
    it("every record of the dev render belongs to exactly one check, and that check exists", async () => {
        const model = devModel();
        const render = await renderDev();
        const ids = new Set(allChecks({ model, render }).map((c) => c.id));
        expect(render.records.length).toBeGreaterThan(10);
        const orphans = render.records.filter((r) => !ids.has(ownerOf(r, model))).map((r) => `${r.type} ${r.name} -> ${ownerOf(r, model)}`);
        expect(orphans).toEqual([]);
        // The kinds the issue names each have their own check.
        for (const prefix of ["dns.mx:", "dns.spf:", "dns.spf-eval:", "dns.dmarc:", "dns.dkim:", "dns.mta-sts-id:", "dns.tls-rpt:", "dns.caa:", "dns.srv:", "dns.no-home-ip:", "identity.ptr", "identity.a", "identity.smtp-banner", "web.mta-sts:", "web.wkd:", "inside.wg:home", "inside.egress:home", "inside.firewall:vps", "inside.fail-closed:home", "tls.chain:", "tls.expiry:", "blocklist.ip", "blocklist.domain:", "dnssec.ds:", "dnssec.validates:"]) {
            expect([...ids].some((id) => id.startsWith(prefix))).toBe(true);
        }
    });

    it("each rendered gateway service has its check, and what goes through a service waits on it", async () => {
        const model = devModel();
        const render = await renderDev();
        const compose = parse(String(render.files.get("vps:/opt/homemail/gateway/compose.yaml"))) as { services: Record<string, unknown> };
        const checks = allChecks({ model, render });
        const byId = new Map(checks.map((c) => [c.id, c]));
        expect(checks.filter((c) => c.id.startsWith("inside.gateway:")).map((c) => c.id).sort()).toEqual(Object.keys(compose.services).map((s) => `inside.gateway:${s}`).sort());
        // Every TLS-port check waits on the VPS process that binds its port, as the port table says.
        for (const c of checks.filter((c) => /^tls\.port:\d+/.test(c.id))) {
            const row = model.ports.find((p) => String(p.publicPort) === c.id.split(":")[1])!;
            expect({ id: c.id, after: c.after }).toEqual({ id: c.id, after: expect.arrayContaining([`inside.gateway:${row.process}`, "inside.mailu-containers:home"]) });
        }
        expect(byId.get("identity.smtp-banner")?.after).toEqual(expect.arrayContaining(["inside.gateway:haproxy", "inside.mailu-containers:home"]));
        for (const c of checks.filter((c) => c.id.startsWith("tls.chain:"))) expect(c.after).toContain("inside.gateway:traefik");
    });

    const servedBy = (answers: Record<string, readonly string[]>) =>
        ({ dns: { query: async (name: string, type: string): Promise<DnsAnswer> => ({ rcode: answers[`${name} ${type}`] ? "NOERROR" : "NXDOMAIN", records: answers[`${name} ${type}`] ?? [], server: "192.0.2.53:53", authoritative: true }) } }) as unknown as DoctorContext;
    const mx = expectedSets([{ zone: "a.test", name: "a.test", type: "MX", content: "mail.a.test", ttl: 1, proxied: false, priority: 10, data: null }]);
    const txt = expectedSets([{ zone: "a.test", name: "_smtp._tls.a.test", type: "TXT", content: "v=TLSRPTv1; rua=mailto:x@a.test", ttl: 1, proxied: false, priority: null, data: null }]);

    it("an RRset is ok as rendered; changed, missing or extra records fail with the exact value to set or delete", async () => {
        expect(await compareSets(servedBy({ "a.test MX": ["10 mail.a.test"] }), mx)).toMatchObject({ status: "ok" });
        expect(await compareSets(servedBy({ "a.test MX": ["10 old.a.test"] }), mx)).toMatchObject({ status: "fail", fix: 'run `pulumi up`: it sets MX a.test to "10 mail.a.test"' });
        expect(await compareSets(servedBy({}), mx)).toMatchObject({ status: "fail", detail: expect.stringMatching(/not served \(NXDOMAIN/) });
        expect(await compareSets(servedBy({ "a.test MX": ["10 mail.a.test", "20 old.a.test"] }), mx)).toMatchObject({ status: "fail", fix: 'delete the MX record "20 old.a.test" at a.test in Cloudflare' });
        // TXT: records of other purposes at the same name are the user's, not ours.
        expect(await compareSets(servedBy({ "_smtp._tls.a.test TXT": ["v=TLSRPTv1; rua=mailto:x@a.test", "google-site-verification=x"] }), txt)).toMatchObject({ status: "ok" });
    });

    it("WireGuard: a handshake within 180 s is ok, up to 300 s a warn, older or never a fail with the command", () => {
        const t = { host: "h", port: 22, user: "admin" };
        const now = 1_000_000;
        expect(handshakeFinding("home", `KEY\t${now - 30}\n`, now, t).status).toBe("ok");
        expect(handshakeFinding("home", `KEY\t${now - HANDSHAKE_OK_SECONDS - 1}\n`, now, t).status).toBe("warn");
        expect(handshakeFinding("home", `KEY\t${now - HANDSHAKE_FAIL_SECONDS - 1}\n`, now, t)).toMatchObject({ status: "fail", fix: expect.stringContaining("sudo systemctl restart wg-quick@wg0") });
        expect(handshakeFinding("vps", "KEY\t0\n", now, t)).toMatchObject({ status: "fail", detail: expect.stringContaining("no handshake") });
    });

    it("certificates: 21 days or more ok, 7 to 20 a warn, under 7 a fail with the fix", () => {
        const now = new Date("2026-12-01T12:00:00Z");
        const inDays = (d: number) => new Date(now.getTime() + d * 86_400_000 + 60_000);
        expect(expiryFinding("h", inDays(21), now, "fix it")).toMatchObject({ status: "ok", detail: "21 days left" });
        expect(expiryFinding("h", inDays(20), now, "fix it")).toMatchObject({ status: "warn" });
        expect(expiryFinding("h", inDays(7), now, "fix it").status).toBe("warn");
        expect(expiryFinding("h", inDays(6), now, "fix it")).toMatchObject({ status: "fail", fix: "fix it", detail: expect.stringContaining("6 days left") });
        expect(expiryFinding("h", inDays(-2), now, "fix it").status).toBe("fail");
    });

    it("blocklists: no answer is not listed, 127.0.0.x a listing with the removal step, Spamhaus's refusal codes a warn naming the resolver option", () => {
        expect(blocklistFinding("203.0.113.10", "zen.spamhaus.org", [], "delist")).toMatchObject({ status: "ok" });
        expect(blocklistFinding("203.0.113.10", "zen.spamhaus.org", ["127.0.0.2", "127.0.0.4"], "delist")).toMatchObject({ status: "fail", fix: "delist", detail: expect.stringContaining("127.0.0.2, 127.0.0.4") });
        expect(blocklistFinding("203.0.113.10", "zen.spamhaus.org", ["127.255.255.254"], "delist")).toMatchObject({ status: "warn", detail: expect.stringContaining("public or open resolver"), fix: expect.stringContaining("--blocklist-resolver") });
        expect(blocklistFinding("example.com", "dbl.spamhaus.org", ["127.255.255.255"], "delist").status).toBe("warn");
    });

    it("DNSSEC: the parent's DS must include the stack's; no DS or another one fails with the exact DS record to publish", () => {
        const expected = { zone: "a.test", keyTag: 2371, algorithm: 13, digestType: 2, digest: "1f98", record: "a.test. IN DS 2371 13 2 1F98" };
        expect(dsFinding("a.test", "test", ["2371 13 2 1F98"], expected).status).toBe("ok");
        expect(dsFinding("a.test", "test", [], expected)).toMatchObject({ status: "fail", fix: "at the registrar of a.test, add the DS record `a.test. IN DS 2371 13 2 1F98` (pulumi stack output registrarDs)" });
        expect(dsFinding("a.test", "test", ["2371 13 2 1F99"], expected)).toMatchObject({ status: "fail", fix: expect.stringContaining("replace the DS with `a.test. IN DS 2371 13 2 1F98`") });
    });

    it("DNSSEC: delv's verdict: fully validated ok; unsigned or a failed resolution is a fail saying why", () => {
        expect(delvFinding("a.test", "; fully validated\na.test. 300 IN SOA ...", "the root trust anchor").status).toBe("ok");
        expect(delvFinding("a.test", "; unsigned answer\n", "the root trust anchor")).toMatchObject({ status: "fail", detail: expect.stringContaining("unsigned") });
        expect(delvFinding("a.test", ";; resolution failed: RRSIG has expired\n", "x")).toMatchObject({ status: "fail", detail: "a.test does not validate from x: RRSIG has expired" });
    });

    it("ssh: BatchMode, the configured port and user, sudo -n for a non-root user, one quoted command", () => {
        expect(sshArgv({ host: "vps.example.net", port: 2222, user: "admin" }, ["ip", "route", "get", "192.0.2.1", "mark", "25"], { timeoutMs: 5000, configFile: "/tmp/cfg" })).toEqual(["-F", "/tmp/cfg", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-p", "2222", "-l", "admin", "vps.example.net", "--", "sudo -n ip route get 192.0.2.1 mark 25"]);
        expect(sshArgv({ host: "h", port: 22, user: "root" }, ["echo", "a b", "it's"], { timeoutMs: 800 }).slice(-1)).toEqual([`echo 'a b' 'it'\\''s'`]);
    });
});

describe("doctor CLI", () => {
    const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
    const cli = (argv: string[]) => spawnSync(TSX, [path.join(REPO_ROOT, "scripts", "doctor.ts"), ...argv], { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, PATH: `${path.join(REPO_ROOT, "node_modules", ".bin")}:${process.env.PATH}` } });

    it("exit 2 with one line for a usage error or a stack that does not exist, no stack trace", () => {
        for (const [argv, message] of [[["--bogus"], /unknown argument --bogus/], [["--stack", "nosuch"], /no stack file Pulumi\.nosuch\.yaml/], [["--only", "dns.nope", "--outputs", "/nonexistent.json"], /--outputs \/nonexistent\.json: no such file/]] as const) {
            const r = cli([...argv]);
            expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 2, stderr: expect.stringMatching(message) });
            expect(r.stderr).not.toMatch(/\n\s+at /);
        }
        expect(cli(["--only", "dns.nope", "--dns-server", "127.0.0.1:9"]).stderr).toMatch(/--only\/--skip dns\.nope: no such area or check/);
    });

    it("exit 1 when a check fails (a DNS server that does not answer, on loopback), progress on stderr, JSON on stdout", async () => {
        const silent = dgram.createSocket("udp4"); // bound, never answers
        await new Promise<void>((resolve) => silent.bind(0, "127.0.0.1", resolve));
        try {
            const r = cli(["--only", "dns.servers,dns.mx", "--dns-server", `127.0.0.1:${silent.address().port}`, "--timeout", "300", "--json"]);
            expect(r.status).toBe(1);
            expect(r.stderr).toMatch(/^doctor: \[1\/2\] dns\.servers:example\.com$/m);
            const out = JSON.parse(r.stdout) as { checks: Result[] };
            expect(out.checks.map((c) => [c.id, c.status, c.dependsOn])).toEqual([["dns.servers:example.com", "fail", undefined], ["dns.mx:example.com", "skipped", "dns.servers:example.com"]]);
            expect(out.checks[0].fix).toMatch(/--dns-server/);
        } finally {
            silent.close();
        }
    });

    it("exit 0 when nothing fails (here: the one selected check skips, its need not selected)", () => {
        const r = cli(["--only", "dns.dkim"]);
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/skip +dns\.dkim:example\.com +skipped: depends on dns\.servers:example\.com \(not selected\)/);
    });
});
