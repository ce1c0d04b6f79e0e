/**
 * The doctor's IPv6 exposure and drift checks: the ports taken from the model, the VPS's addresses
 * from `ip -6 addr`, the judge of the probes (a machine without an IPv6 route warns, never ok), the
 * probes themselves on loopback, one cause one fail through the runner, and the refresh judge on
 * the real Pulumi CLI's recorded output (tests/real/tools/record-refresh.sh).
 */
import { readFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { Check, fail, ok } from "../../scripts/lib/doctor/check";
import type { DoctorContext } from "../../scripts/lib/doctor/context";
import { driftChecks, NO_READ_NOTE, refreshFinding, summarizeRefresh } from "../../scripts/lib/doctor/checks/drift";
import { acceptsAboveChain, ExposureFacts, exposedPorts, exposureChecks, exposureFinding, globalIpv6Addresses, hasRoute, Outcome, tcpOutcome, vpsIpv6Targets } from "../../scripts/lib/doctor/checks/exposure";
import { cliRefreshPreview, refreshArgv } from "../../scripts/lib/doctor/pulumiRefresh";
import { allChecks } from "../../scripts/lib/doctor/registry";
import { runChecks } from "../../scripts/lib/doctor/runner";
import type { SshResult } from "../../scripts/lib/doctor/ssh";
import { devModel, REPO_ROOT } from "../helpers/stack";

const RECORDINGS = path.join(REPO_ROOT, "tests/fixtures/pulumi-refresh");
const recording = (name: string) => readFileSync(path.join(RECORDINGS, name), "utf8");

/** `ip -6 -o addr show scope global` on a VPS with a provider /64, a temporary address, a ULA and Docker's. */
const IP_OUTPUT = [
    "2: eth0    inet6 2a01:4f8:c012:ABCD::1/64 scope global \\       valid_lft forever preferred_lft forever",
    "2: eth0    inet6 2a01:4f8:c012:abcd:5054:ff:fe12:3456/64 scope global dynamic mngtmpaddr \\       valid_lft 86000sec preferred_lft 14000sec",
    "3: wg0    inet6 fd42:42::1/64 scope global \\       valid_lft forever preferred_lft forever",
    "4: docker0    inet6 fd00:dead:beef::1/64 scope global \\       valid_lft forever preferred_lft forever",
].join("\n");

describe("IPv6 exposure: what is probed", () => {
    it("every TCP port of the model's port table and the WKD nginx's port, never the SSH port", () => {
        const model = devModel();
        const ports = exposedPorts(model).map((p) => p.port);
        const fromModel = new Set([...model.ports.filter((r) => r.protocol === "tcp").map((r) => r.publicPort), model.addresses.wkdListen.port]);
        fromModel.delete(model.vps.ssh.port);
        expect(new Set(ports)).toEqual(fromModel);
        expect(ports.length).toBe(fromModel.size);
        expect(exposedPorts(model).find((p) => p.port === model.ports[0].publicPort)?.role).toBe(model.ports[0].name);
        // An SSH port that is also a table port (a user's 443) may answer: it is not probed.
        const ssh443 = { ...model, vps: { ssh: { ...model.vps.ssh, port: 443 } } };
        expect(exposedPorts(ssh443).map((p) => p.port)).not.toContain(443);
    });

    it("the VPS's global unicast addresses from `ip -6 -o addr`, canonical; ULAs are not reachable from outside", () => {
        expect(globalIpv6Addresses(IP_OUTPUT)).toEqual(["2a01:4f8:c012:abcd::1", "2a01:4f8:c012:abcd:5054:ff:fe12:3456"]);
        expect(globalIpv6Addresses("")).toEqual([]);
    });

    it("the configured homemail:vps.publicIpv6 first, then the VPS's own, each once", () => {
        expect(vpsIpv6Targets("2A01:4F8:C012:ABCD:0::1", globalIpv6Addresses(IP_OUTPUT))).toEqual(["2a01:4f8:c012:abcd::1", "2a01:4f8:c012:abcd:5054:ff:fe12:3456"]);
        expect(vpsIpv6Targets(undefined, [])).toEqual([]);
    });

    it("finds ACCEPT rules another tool put above the jump to HOMEMAIL-IN (verify cannot see them)", () => {
        const input = [
            "-P INPUT ACCEPT",
            "-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT",
            "-A INPUT -m comment --comment homemail-gateway-firewall -j HOMEMAIL-IN",
            "-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT",
        ].join("\n");
        expect(acceptsAboveChain(input)).toEqual(["-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT"]);
        expect(acceptsAboveChain("-P INPUT ACCEPT\n-A INPUT -m comment --comment homemail-gateway-firewall -j HOMEMAIL-IN\n")).toEqual([]);
    });
});

describe("IPv6 exposure: the judge", () => {
    const base: ExposureFacts = {
        stack: "prod",
        addresses: ["2001:db8:113::10"],
        unroutable: [],
        ports: [{ port: 25, role: "smtp" }, { port: 443, role: "https" }],
        probes: [
            { address: "2001:db8:113::10", port: 25, role: "smtp", outcome: "timeout" },
            { address: "2001:db8:113::10", port: 443, role: "https", outcome: "refused" },
        ],
        sshPort: 22,
        controls: [{ address: "2001:db8:113::10", outcome: "refused" }],
        firewall: true,
    };

    it("ok when every port is refused or silent while the SSH port answers or refuses (the path works)", () => {
        expect(exposureFinding(base)).toEqual(ok("2001:db8:113::10: tcp 25, 443 refused or silent; the SSH port 22 answers or refuses, so the path works"));
        expect(exposureFinding({ ...base, controls: [{ address: "2001:db8:113::10", outcome: "open" }] }).status).toBe("ok");
    });

    it("the SSH port silent too: this machine's IPv6 reaches nothing, a warn (silence proves nothing), never an ok", () => {
        for (const outcome of ["timeout", "unreachable"] as const) {
            const f = exposureFinding({ ...base, controls: [{ address: "2001:db8:113::10", outcome }] });
            expect(f).toMatchObject({ status: "warn", detail: expect.stringContaining("silence proves nothing"), fix: expect.stringContaining("--only exposure") });
        }
    });

    it("a port that answers fails, and the fix deletes the exact rule that admits it", () => {
        const f = exposureFinding({
            ...base,
            probes: [{ ...base.probes[0] }, { ...base.probes[1], outcome: "open" }],
            ip6tablesInput: "-P INPUT ACCEPT\n-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT\n-A INPUT -m comment --comment homemail-gateway-firewall -j HOMEMAIL-IN\n",
        });
        expect(f).toEqual(fail("answers on the VPS's IPv6 (only SSH and WireGuard may): 2001:db8:113::10: tcp/443 (https)", expect.stringContaining("`ip6tables -D INPUT -p tcp -m tcp --dport 443 -j ACCEPT`")));
    });

    it("with the firewall off in the model, the fix turns it on", () => {
        const f = exposureFinding({ ...base, firewall: false, probes: [{ ...base.probes[0], outcome: "open" }] });
        expect(f).toMatchObject({ status: "fail", fix: expect.stringContaining("pulumi config set --path homemail:gateway.firewall true") });
    });

    it("no IPv6 route from this machine: a warn saying so and how to run it elsewhere, never an ok", () => {
        const f = exposureFinding({ ...base, unroutable: ["2001:db8:113::10"], probes: [] });
        expect(f).toEqual({
            status: "warn",
            detail: "no IPv6 route from this machine to 2001:db8:113::10: cannot tell whether tcp 25, 443 answer there",
            fix: "run the doctor from a machine with IPv6: `npm run doctor -- --stack prod --only exposure`",
        });
    });

    it("no IPv6 on the VPS at all is ok; addresses unknown (ssh `ip` failed, none configured) is a warn", () => {
        expect(exposureFinding({ ...base, addresses: [], probes: [] }).status).toBe("ok");
        expect(exposureFinding({ ...base, addresses: [], probes: [], listProblem: "`ip -6 addr` on the VPS failed: ip: not found" })).toMatchObject({ status: "warn", detail: expect.stringContaining("unknown") });
    });
});

describe("IPv6 exposure: probes (loopback only)", () => {
    it("a listening port is open, a closed one refused; ::1 has a route", async () => {
        const server = net.createServer((s) => s.end());
        await new Promise<void>((r) => server.listen(0, "::1", r));
        const port = (server.address() as net.AddressInfo).port;
        try {
            expect(await tcpOutcome("::1", port, 2000)).toBe("open");
        } finally {
            await new Promise((r) => server.close(r));
        }
        expect(await tcpOutcome("::1", port, 2000)).toBe("refused");
        expect(await hasRoute("::1")).toBe(true);
    });
});

describe("IPv6 exposure: the check in the runner", () => {
    const model = devModel();
    const ssh = (answers: Record<string, SshResult>) => async (_host: string, argv: readonly string[]) => answers[argv[0]] ?? { status: 0, stdout: "", stderr: "" };
    const ctx = (answers: Record<string, SshResult>) => ({ model, timeoutMs: 1000, ssh: ssh(answers) }) as unknown as DoctorContext;
    const onVps = { ip: { status: 0, stdout: "2: eth0    inet6 2001:db8:113::10/64 scope global nodad \\       valid_lft forever", stderr: "" } };
    const check = (probes: { route: boolean; outcome: Outcome }) =>
        exposureChecks({ model }, { stack: "dev", probes: { hasRoute: async () => probes.route, tcpOutcome: async () => probes.outcome } })[0];
    const stub = (id: string, finding = ok("fine")): Check<DoctorContext> => ({ id, area: "inside", title: id, run: async () => finding });

    it("with no route it warns (no connect is tried); with one it probes every port", async () => {
        const tried: number[] = [];
        const unrouted = exposureChecks({ model }, { stack: "dev", probes: { hasRoute: async () => false, tcpOutcome: async (_a, p) => (tried.push(p), "open") } })[0];
        expect((await unrouted.run(ctx(onVps))).status).toBe("warn");
        expect(tried).toEqual([]);
        const ssh = model.vps.ssh.port;
        const probes = exposureChecks({ model }, { stack: "dev", probes: { hasRoute: async () => true, tcpOutcome: async (_a, p) => (tried.push(p), p === ssh ? "refused" : "timeout") } })[0];
        expect((await probes.run(ctx(onVps))).status).toBe("ok");
        expect(tried.sort((a, b) => a - b)).toEqual([...exposedPorts(model).map((p) => p.port), ssh].sort((a, b) => a - b));
    });

    it("skipped when the firewall check failed (one cause, one fail), and when SSH failed", async () => {
        const c = check({ route: true, outcome: "open" });
        const results = await runChecks([stub("inside.ssh:vps"), stub("inside.firewall:vps", fail("verify: drift", "enable")), c], { only: [], skip: [] }, ctx(onVps), { hasOutputs: true });
        expect(results.find((r) => r.id === c.id)).toMatchObject({ status: "skipped", detail: "depends on inside.firewall:vps" });
        const noSsh = await runChecks([stub("inside.ssh:vps", fail("no", "ssh-add")), stub("inside.firewall:vps"), c], { only: [], skip: [] }, ctx(onVps), { hasOutputs: true });
        expect(noSsh.find((r) => r.id === c.id)?.status).toBe("skipped");
    });

    it("is registered once, as area exposure, from the dev stack", () => {
        const ids = allChecks({ model, render: { records: [], files: new Map() } }).map((c) => c.id);
        expect(ids.filter((id) => id.startsWith("exposure."))).toEqual(["exposure.ipv6:vps"]);
        expect(ids).toContain("drift.refresh");
    });
});

describe("drift: the refresh judge on the real CLI's recordings", () => {
    it("nothing would change: ok, with the resource count and the note that command resources have no Read", () => {
        const s = summarizeRefresh(recording("no-change.events.jsonl"));
        expect(s.drifted).toEqual([]);
        expect(refreshFinding("lab", s)).toEqual(ok(`pulumi refresh --preview-only: 3 resources, nothing would change (${NO_READ_NOTE})`));
    });

    it("a resource changed outside Pulumi and one removed: a warn naming each (kind, name, property names), counts, the commands", () => {
        const s = summarizeRefresh(recording("changed.events.jsonl"));
        expect(s.drifted.map((d) => [d.op, d.urn, d.properties])).toEqual([
            ["delete", "urn:pulumi:lab::drift::pulumi-nodejs:dynamic:Resource::issue", []],
            ["update", "urn:pulumi:lab::drift::pulumi-nodejs:dynamic:Resource::motd", ["content"]],
        ]);
        const f = refreshFinding("lab", s);
        expect(f).toMatchObject({ status: "warn", fix: expect.stringContaining("`pulumi refresh --preview-only --diff --stack lab`") });
        expect(f.detail).toMatch(/^pulumi refresh --preview-only: 1 to delete, 1 to update: delete pulumi-nodejs:dynamic:Resource issue; update pulumi-nodejs:dynamic:Resource motd \(content\)/);
        // Names only: neither the old nor the new content is printed.
        expect(f.detail).not.toMatch(/edited by hand|homemail\\n/);
    });

    it("the CLI's --json steps of the same preview do not tell the update apart: why the judge reads the event log", () => {
        const json = JSON.parse(recording("changed.json")) as { steps: { op: string; urn: string }[]; changeSummary: Record<string, number> };
        expect(json.changeSummary).toMatchObject({ update: 1, delete: 1 });
        expect(json.steps.find((s) => s.urn.endsWith("::motd"))?.op).toBe("refresh");
    });

    it("the recordings carry secrets only as [secret]", () => {
        for (const name of ["no-change.events.jsonl", "changed.events.jsonl", "changed.json"]) {
            const text = recording(name);
            expect(text).toContain('"[secret]"');
            expect(text).not.toMatch(/record-refresh-secret-/);
        }
    });
});

describe("drift: the check and the CLI call", () => {
    it("no Pulumi CLI: skipped, saying so; a failing CLI: a warn with its error and the command", async () => {
        const [noCli] = driftChecks({ stack: "dev", refresh: async () => ({ kind: "no-cli" }) });
        expect(await noCli.run({} as DoctorContext)).toEqual({ status: "skipped", detail: `no Pulumi CLI on PATH (${NO_READ_NOTE})` });
        const [failed] = driftChecks({ stack: "dev", refresh: async () => ({ kind: "failed", status: 255, message: "error: no stack named 'dev' found" }) });
        expect(await failed.run({} as DoctorContext)).toMatchObject({ status: "warn", detail: expect.stringContaining("no stack named 'dev'"), fix: expect.stringContaining("pulumi stack select dev") });
    });

    it("a CLI that is not on PATH is reported as none (a real spawn)", async () => {
        expect(await cliRefreshPreview(REPO_ROOT, 10_000, "pulumi-not-installed-here")("dev")).toEqual({ kind: "no-cli" });
    });

    it("asks for a preview only, for the named stack, never interactively and never for secrets", () => {
        const argv = refreshArgv("prod", "/tmp/x/events.jsonl");
        expect(argv).toEqual(["refresh", "--preview-only", "--stack", "prod", "--non-interactive", "--event-log", "/tmp/x/events.jsonl"]);
        expect(argv.join(" ")).not.toMatch(/--yes|--show-secrets|--skip-preview/);
    });
});
