/**
 * The doctor's Mailu-side judges, fed with what the real commands printed: the e2e lab's run
 * (tests/fixtures/doctor/mailu/lab-*: its docker stand-in, iptables, conntrack, the probes) and the
 * captures of tests/fixtures/doctor/mailu/capture.ts (a deferred Postfix queue, conntrack with and
 * without SNAT, raw PREROUTING after a Docker restart, an MTA that greets unproxied clients, df).
 * A failing case that no tool printed is a real output with one field changed, said so where done.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseDoctorArgs, UsageError } from "../../scripts/lib/doctor/args";
import {
    containersFinding,
    conntrackFinding,
    DEFAULT_EGRESS_PROBE,
    diskFinding,
    envValues,
    parseComposePs,
    probeSocket,
    proxyProbeFinding,
    publishedFinding,
    queueFinding,
    QUEUE_FAIL,
    QUEUE_WARN,
    rawOrderFinding,
    renderedServices,
    trustFinding,
    TRUST_KEYS,
} from "../../scripts/lib/doctor/checks/mailu";
import type { DoctorContext } from "../../scripts/lib/doctor/context";
import { loadRenderSet, RenderSet } from "../../scripts/lib/doctor/inputs";
import type { SshResult } from "../../scripts/lib/doctor/ssh";
import { allChecks } from "../../scripts/lib/doctor/registry";
import { devModel } from "../helpers/stack";

const fixture = (name: string) => readFileSync(path.join(__dirname, "..", "fixtures", "doctor", "mailu", name), "utf8");
const root = { host: "h", port: 22, user: "root" };
const admin = { host: "h", port: 22, user: "admin" };
const model = devModel();
const inMailuSubnet = (ip: string) => ip.startsWith("192.168.203.");

let render: RenderSet;
beforeAll(async () => {
    render = await loadRenderSet("dev");
}, 120_000);

describe("doctor: Mailu's containers (docker compose ps --format json)", () => {
    const ps = () => parseComposePs(fixture("lab-compose-ps.jsonl"));

    it("the lab's ps lists every service of the rendered compose, all running and healthy: ok", () => {
        const services = renderedServices(render).map((s) => s.name);
        expect(services).toEqual(expect.arrayContaining(["front", "smtp", "imap", "admin"]));
        expect(ps().map((c) => c.Service).sort()).toEqual([...services].sort());
        expect(containersFinding(services, ps(), root)).toMatchObject({ status: "ok", detail: `${services.length} services running, ${services.length} healthy by their healthcheck` });
    });

    it("Compose before 2.21 prints one JSON array: the same containers", () => {
        expect(parseComposePs(JSON.stringify(ps()))).toEqual(ps());
        expect(parseComposePs("")).toEqual([]);
    });

    it("a rendered service without a container, one exited, one unhealthy: each a fail naming it and the command", () => {
        const services = renderedServices(render).map((s) => s.name);
        expect(containersFinding(services, ps().filter((c) => c.Service !== "imap"), admin)).toMatchObject({ status: "fail", detail: expect.stringContaining("no container for imap"), fix: expect.stringContaining("sudo /usr/local/sbin/homemail-mailu up") });
        // The lab's line for smtp with State and Status as `docker compose ps` shows a stopped container.
        const exited = ps().map((c) => (c.Service === "smtp" ? { ...c, State: "exited", Status: "Exited (1) 3 minutes ago", Health: "" } : c));
        expect(containersFinding(services, exited, root)).toMatchObject({ status: "fail", detail: "not running: smtp (Exited (1) 3 minutes ago)", fix: expect.stringContaining("docker compose -f /opt/homemail/mailu/compose.yaml logs smtp") });
        const unhealthy = ps().map((c) => (c.Service === "front" ? { ...c, Health: "unhealthy" } : c));
        expect(containersFinding(services, unhealthy, root)).toMatchObject({ status: "fail", detail: "unhealthy: front" });
        expect(containersFinding(services, ps().map((c) => (c.Service === "admin" ? { ...c, Health: "starting" } : c)), root).status).toBe("warn");
    });

    it("published ports: the lab's front publishes every home port of the port table on the WireGuard address only", () => {
        const homePorts = model.ports.map((p) => p.homePort);
        expect(publishedFinding(ps(), model.addresses.wgSpoke, homePorts, root)).toMatchObject({ status: "ok", detail: expect.stringContaining(`${homePorts.length} ports on ${model.addresses.wgSpoke} only`) });
        // The rendered compose says the same: every `ports:` entry is on the WireGuard address.
        expect(renderedServices(render).flatMap((s) => s.ports).every((p) => p.startsWith(`${model.addresses.wgSpoke}:`))).toBe(true);
    });

    it("a port published on 0.0.0.0, or one of the table missing, is a fail with pulumi up and homemail-mailu up", () => {
        const homePorts = model.ports.map((p) => p.homePort);
        // The lab's front line with its port 25 publisher as `ports: "25:25"` would print it.
        const wide = ps().map((c) => (c.Service === "front" ? { ...c, Publishers: c.Publishers!.map((p) => (p.PublishedPort === 25 ? { ...p, URL: "0.0.0.0" } : p)) } : c));
        expect(publishedFinding(wide, model.addresses.wgSpoke, homePorts, root)).toMatchObject({ status: "fail", detail: "published beyond the WireGuard address: front 0.0.0.0:25", fix: expect.stringContaining("homemail-mailu up") });
        const fewer = ps().map((c) => (c.Service === "front" ? { ...c, Publishers: c.Publishers!.filter((p) => p.PublishedPort !== 993) } : c));
        expect(publishedFinding(fewer, model.addresses.wgSpoke, homePorts, root)).toMatchObject({ status: "fail", detail: expect.stringContaining("port 993") });
    });
});

describe("doctor: mailu.env's trust settings and the unproxied SMTP probe", () => {
    const renderedEnv = () => envValues(String(render.files.get("home:/opt/homemail/mailu/mailu.env")), TRUST_KEYS);

    it("only REAL_IP_FROM and PROXY_PROTOCOL are read; the lab's deployed values equal the render's", () => {
        expect(Object.keys(renderedEnv()).sort()).toEqual([...TRUST_KEYS].sort());
        expect(trustFinding(envValues(fixture("lab-mailu-env-grep.txt"), TRUST_KEYS), renderedEnv(), root)).toMatchObject({ status: "ok", detail: expect.stringContaining("PROXY_PROTOCOL=25,") });
    });

    it("a drifted or missing key is a fail naming the deployed and the rendered value", () => {
        const drifted = envValues(fixture("lab-mailu-env-grep.txt").replace("PROXY_PROTOCOL=25,", "PROXY_PROTOCOL="), TRUST_KEYS);
        expect(trustFinding(drifted, renderedEnv(), root)).toMatchObject({ status: "fail", detail: expect.stringContaining('PROXY_PROTOCOL is "443,'), fix: expect.stringContaining(`PROXY_PROTOCOL=${renderedEnv().PROXY_PROTOCOL}`) });
        expect(trustFinding({ PROXY_PROTOCOL: renderedEnv().PROXY_PROTOCOL }, renderedEnv(), root)).toMatchObject({ status: "fail", detail: expect.stringContaining("REAL_IP_FROM is missing") });
    });

    it("the hub's probe: the lab's Mailu stand-in stays silent without a PROXY header and greets with one: ok", () => {
        expect(proxyProbeFinding(fixture("lab-proxy-probe.txt"), "10.0.1.2:25", root)).toMatchObject({ status: "ok", detail: expect.stringContaining("with one: 220 mail.example.com") });
    });

    it("an MTA that greets an unproxied client is a fail; silence both ways is a warn (nothing proves Mailu answers)", () => {
        expect(proxyProbeFinding(fixture("proxy-probe-unproxied-mta.txt"), "10.0.1.2:25", root)).toMatchObject({ status: "fail", detail: expect.stringContaining("greets a client that sent no PROXY header"), fix: expect.stringContaining("PROXY_PROTOCOL") });
        expect(proxyProbeFinding("plain: refused\nproxied: refused\n", "10.0.1.2:25", root).status).toBe("warn");
    });
});

describe("doctor: Docker's raw drops and the egress path", () => {
    it("homemail's exception before Docker's drop (the lab, a capture): ok; Docker's first (a Docker restart): fail with reapply", () => {
        expect(rawOrderFinding(fixture("lab-raw.txt"), inMailuSubnet, root)).toMatchObject({ status: "ok", detail: "homemail's exception is rule 1; 1 Docker drop(s) after it" });
        expect(rawOrderFinding(fixture("raw-ordered.txt"), inMailuSubnet, root).status).toBe("ok");
        expect(rawOrderFinding(fixture("raw-docker-first.txt"), inMailuSubnet, admin)).toMatchObject({ status: "fail", detail: expect.stringContaining("-A PREROUTING -d 192.168.203.9/32 ! -i br-mailu -j DROP"), fix: "on home: `sudo /usr/local/sbin/homemail-smtp-egress reapply`" });
    });

    it("no homemail exception at all is the egress verify's finding, not a second fail here", () => {
        const withoutOurs = fixture("raw-ordered.txt").split("\n").filter((l) => !l.includes("homemail-smtp-egress")).join("\n");
        expect(rawOrderFinding(withoutOurs, inMailuSubnet, root)).toMatchObject({ status: "ok", detail: expect.stringContaining("egress verify reports it") });
    });

    it("the probe's socket line gives the container's address and port; the lab's conntrack entry is SNATed to the VPS IP: ok", () => {
        const socket = probeSocket(fixture("lab-egress-probe.txt"))!;
        expect(inMailuSubnet(socket.address)).toBe(true);
        expect(conntrackFinding(fixture("lab-conntrack.txt"), { ...socket, mx: "192.0.2.80" }, model.addresses.vpsPublicIp, model.addresses.homeWanIp)).toMatchObject({ status: "ok", detail: `${socket.address}:${socket.port} -> 192.0.2.80:25 leaves the VPS as ${model.addresses.vpsPublicIp}` });
    });

    it("a flow forwarded without SNAT, SNATed elsewhere, or absent is a fail with the egress commands", () => {
        const flow = (file: string) => {
            const m = /src=(\S+) dst=(\S+) sport=(\d+)/.exec(fixture(file))!;
            return { address: m[1], port: Number(m[3]), mx: m[2] };
        };
        expect(conntrackFinding(fixture("conntrack-no-snat.txt"), flow("conntrack-no-snat.txt"), "203.0.113.10", "198.51.100.20")).toMatchObject({ status: "fail", detail: expect.stringContaining("without SNAT"), fix: expect.stringContaining("homemail-smtp-egress reapply") });
        expect(conntrackFinding(fixture("conntrack-snat.txt"), flow("conntrack-snat.txt"), "203.0.113.11", "198.51.100.20")).toMatchObject({ status: "fail", detail: expect.stringContaining("not the VPS's public IP 203.0.113.11") });
        // One-to-one NAT: the WAN address is not known in advance; any SNAT but the home IP is right.
        expect(conntrackFinding(fixture("conntrack-snat.txt"), flow("conntrack-snat.txt"), undefined, "198.51.100.20").status).toBe("ok");
        expect(conntrackFinding("", flow("conntrack-snat.txt"), "203.0.113.10", "198.51.100.20")).toMatchObject({ status: "fail", detail: expect.stringContaining("no conntrack entry") });
    });
});

describe("doctor: deferred queue and disk", () => {
    const deferred = fixture("postqueue-deferred.jsonl");
    const arrival = (JSON.parse(deferred.split("\n")[0]) as { arrival_time: number }).arrival_time;

    it("postqueue -j: an empty queue ok; one deferred message minutes old ok, past the age thresholds a warn, then a fail", () => {
        expect(queueFinding("", arrival, root)).toMatchObject({ status: "ok", detail: "no deferred mail (0 in the queue)" });
        expect(queueFinding(deferred, arrival + 120, root)).toMatchObject({ status: "ok", detail: expect.stringContaining("1 deferred, the oldest 2 min old; e.g. Host or domain name not found") });
        expect(queueFinding(deferred, arrival + QUEUE_WARN.ageSeconds, root)).toMatchObject({ status: "warn", fix: expect.stringContaining("exec -T smtp postqueue -p") });
        expect(queueFinding(deferred, arrival + QUEUE_FAIL.ageSeconds, admin)).toMatchObject({ status: "fail", fix: expect.stringContaining("sudo docker compose -f /opt/homemail/mailu/compose.yaml exec -T smtp postqueue -p") });
    });

    it("many deferred messages: a warn from the warn count, a fail from the fail count", () => {
        const many = (n: number) => Array.from({ length: n }, () => deferred.split("\n")[0]).join("\n");
        expect(queueFinding(many(QUEUE_WARN.count), arrival + 60, root).status).toBe("warn");
        expect(queueFinding(many(QUEUE_FAIL.count), arrival + 60, root).status).toBe("fail");
    });

    it("df -P -k: the capture's 32% is ok; the same line at 90% a warn, at 97% a fail naming du", () => {
        const df = fixture("df.txt");
        expect(diskFinding(df, "/srv/mailu")).toMatchObject({ status: "ok", detail: expect.stringMatching(/^\d+% used, [\d.]+ GiB free on \/srv/) });
        const at = (pct: number) => df.replace(/\d+%/, `${pct}%`);
        expect(diskFinding(at(90), "/srv/mailu").status).toBe("warn");
        expect(diskFinding(at(97), "/srv/mailu")).toMatchObject({ status: "fail", fix: expect.stringContaining("du -xsh /srv/mailu/*") });
        expect(diskFinding("df: /srv/mailu: No such file or directory\n", "/srv/mailu").status).toBe("fail");
    });
});

describe("doctor: --egress-probe and the registry", () => {
    it("--egress-probe takes a host name or address; absent, the checks use the documented default", () => {
        expect(parseDoctorArgs(["--egress-probe", "MX.Remote.Test."])).toMatchObject({ egressProbe: "mx.remote.test" });
        expect(parseDoctorArgs(["--egress-probe", "192.0.2.80"])).toMatchObject({ egressProbe: "192.0.2.80" });
        expect(parseDoctorArgs([])).not.toHaveProperty("egressProbe");
        expect(() => parseDoctorArgs(["--egress-probe", "not a host"])).toThrow(UsageError);
        expect(() => parseDoctorArgs(["--egress-probe"])).toThrow(UsageError);
        const title = (probe?: string) => allChecks({ model, render }, { egressProbe: probe }).find((c) => c.id === "inside.egress-path:home")!.title;
        expect(title()).toContain(`${DEFAULT_EGRESS_PROBE}:25`);
        expect(title("mx.remote.test")).toContain("mx.remote.test:25");
    });

    it("the egress verify and the egress path wait on the raw-order check: a moved Docker rule is one fail", () => {
        const checks = allChecks({ model, render });
        expect(checks.find((c) => c.id === "inside.egress:home")!.after).toContain("inside.docker-raw:home");
        expect(checks.find((c) => c.id === "inside.egress-path:home")!.after).toEqual(expect.arrayContaining(["inside.docker-raw:home", "inside.egress:home", "inside.wg:home"]));
    });
});

describe("doctor: the egress path check's commands, replayed from the lab", () => {
    /** The lab's answers by command (first word, or docker's subcommand); `override` replaces some. */
    function replay(override: Record<string, SshResult> = {}): { ctx: DoctorContext; calls: string[][] } {
        const calls: string[][] = [];
        const answers: Record<string, SshResult> = {
            getent: { status: 0, stdout: "192.0.2.80      STREAM mx.remote.test\n", stderr: "" },
            "docker ps": { status: 0, stdout: fixture("lab-compose-ps.jsonl").split("\n").filter((l) => l.includes('"smtp"')).join("\n"), stderr: "" },
            bash: { status: 0, stdout: fixture("lab-egress-probe.txt"), stderr: "" },
            conntrack: { status: 0, stdout: fixture("lab-conntrack.txt"), stderr: "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n" },
            ...override,
        };
        const key = (argv: readonly string[]) => (argv[0] === "docker" ? `docker ${argv.includes("ps") ? "ps" : argv[1]}` : argv[0]);
        const ctx = {
            model,
            render,
            ssh: async (_host: string, argv: readonly string[]) => {
                calls.push([...argv]);
                return answers[key(argv)] ?? { status: 127, stdout: "", stderr: `unexpected ${argv[0]}` };
            },
        } as unknown as DoctorContext;
        return { ctx, calls };
    }
    const egressPath = () => allChecks({ model, render }, { egressProbe: "mx.remote.test" }).find((c) => c.id === "inside.egress-path:home")!;

    it("resolves the probe host, enters the smtp container's PID with the host's tools, and finds the SNAT: ok", async () => {
        const { ctx, calls } = replay();
        expect(await egressPath().run(ctx)).toMatchObject({ status: "ok", detail: expect.stringContaining("leaves the VPS as 203.0.113.10") });
        const probe = calls.find((a) => a[0] === "bash")!;
        expect([probe[4], probe[6]]).toEqual(["mailu-smtp-1", "192.0.2.80"]);
        expect(probe[2]).toMatch(/docker inspect --format "\{\{\.State\.Pid\}\}" "\$1"[\s\S]*exec nsenter -t "\$pid" -n /);
        expect(calls.find((a) => a[0] === "conntrack")).toEqual(expect.arrayContaining(["-s", "192.168.203.10", "-d", "192.0.2.80", "--dport", "25"]));
    });

    it("no conntrack on the VPS is a warn with the apt command; an unresolvable probe host a warn naming --egress-probe", async () => {
        const missing = replay({ conntrack: { status: 127, stdout: "", stderr: "bash: line 1: conntrack: command not found\n" } });
        expect(await egressPath().run(missing.ctx)).toMatchObject({ status: "warn", fix: "on the VPS: `apt-get install conntrack`" });
        const unresolved = replay({ getent: { status: 2, stdout: "", stderr: "" } });
        expect(await egressPath().run(unresolved.ctx)).toMatchObject({ status: "warn", fix: expect.stringContaining("--egress-probe HOST") });
    });

    it("a probe that cannot connect (egress broken) is a fail with verify and reapply", async () => {
        const broken = replay({ bash: { status: 1, stdout: "", stderr: "bash: connect: No route to host\n" } });
        expect(await egressPath().run(broken.ctx)).toMatchObject({ status: "fail", detail: expect.stringContaining("could not connect to mx.remote.test (192.0.2.80):25"), fix: expect.stringContaining("homemail-smtp-egress reapply") });
        const gone = replay({ bash: { status: 4, stdout: "", stderr: "no PID for mailu-smtp-1: 0\n" } });
        expect(await egressPath().run(gone.ctx)).toMatchObject({ status: "fail", fix: expect.stringContaining("restart smtp") });
    });
});
