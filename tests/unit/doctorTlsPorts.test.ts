/**
 * The doctor's TLS checks of the mail ports: which ports and names the port table gives, and the
 * STARTTLS dialogues (SMTP, ManageSieve) and implicit TLS against loopback servers with a
 * throwaway certificate, judged as the doctor judges Mailu's.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import type { PortRow } from "../../components/config/model";
import type { Check, Result } from "../../scripts/lib/doctor/check";
import { tlsPortChecks, tlsPortProbes } from "../../scripts/lib/doctor/checks/tlsPorts";
import type { DoctorContext } from "../../scripts/lib/doctor/context";
import { loadRenderSet } from "../../scripts/lib/doctor/inputs";
import { allChecks } from "../../scripts/lib/doctor/registry";
import { dependencyOrder, runChecks } from "../../scripts/lib/doctor/runner";
import { devModel } from "../helpers/stack";

const model = devModel();
const rowNamed = (name: string) => model.ports.find((r) => r.name === name)!;

describe("doctor TLS ports: the port table decides what is probed", () => {
    it("the dev stack: 443 once per passthrough host, 465/993/995 as the mail host, STARTTLS on 25 (SMTP) and 4190 (ManageSieve), not 80", () => {
        const probes = tlsPortProbes(model);
        expect(probes.map((p) => [p.id, p.sni, p.startTls?.protocol ?? "TLS"])).toEqual([
            ["tls.port:25", "mail.example.com", "SMTP"],
            ["tls.port:443:mail.example.com", "mail.example.com", "TLS"],
            ["tls.port:443:autoconfig.example.com", "autoconfig.example.com", "TLS"],
            ["tls.port:443:autodiscover.example.com", "autodiscover.example.com", "TLS"],
            ["tls.port:465", "mail.example.com", "TLS"],
            ["tls.port:993", "mail.example.com", "TLS"],
            ["tls.port:995", "mail.example.com", "TLS"],
            ["tls.port:4190", "mail.example.com", "ManageSieve"],
        ]);
        const ids = tlsPortChecks({ model }, { ca: [] }).map((c) => c.id);
        for (const p of probes) expect(ids).toEqual(expect.arrayContaining([p.id, p.expiryId]));
        expect(ids).toHaveLength(2 * probes.length);
    });

    it("a row removed takes its checks away; a row added brings its own", () => {
        const without = tlsPortProbes({ ...model, ports: model.ports.filter((r) => r.name !== "pop3s") }).map((p) => p.id);
        expect(without).not.toContain("tls.port:995");
        expect(without).toContain("tls.port:993");
        const extra: PortRow[] = [
            { ...rowNamed("imaps"), name: "imaps-alt", publicPort: 1993 },
            { ...rowNamed("sieve"), publicPort: 14190 },
            { ...rowNamed("sieve"), name: "opaque", publicPort: 7000 },
        ];
        const probes = tlsPortProbes({ ...model, ports: [...model.ports, ...extra] });
        expect(probes.find((p) => p.id === "tls.port:1993")).toMatchObject({ sni: model.mailHost });
        expect(probes.find((p) => p.id === "tls.port:1993")?.startTls).toBeUndefined();
        expect(probes.find((p) => p.id === "tls.port:14190")?.startTls?.protocol).toBe("ManageSieve");
        // A plain TCP service without a known STARTTLS dialogue cannot be judged: no check.
        expect(probes.some((p) => p.id === "tls.port:7000")).toBe(false);
    });

    it("the doctor runs them: each probe's two checks are registered, and every check they need or follow exists", async () => {
        const checks = allChecks({ model, render: await loadRenderSet("dev") });
        const ordered = dependencyOrder(checks).map((c) => c.id);
        for (const p of tlsPortProbes(model)) expect(ordered.indexOf(p.expiryId)).toBeGreaterThan(ordered.indexOf(p.id));
    }, 60_000);

    it("more passthrough hosts, more 443 checks", () => {
        const ids = tlsPortProbes({ ...model, passthroughHosts: [...model.passthroughHosts, "webmail.example.com"] }).map((p) => p.id);
        expect(ids).toContain("tls.port:443:webmail.example.com");
    });
});

describe("doctor TLS ports against loopback servers", () => {
    let dir: string;
    let cert: string;
    let key: string;
    const servers: net.Server[] = [];

    beforeAll(() => {
        dir = mkdtempSync(path.join(os.tmpdir(), "doctor-tls-"));
        const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "10", "-subj", `/CN=${model.mailHost}`,
            "-addext", `subjectAltName=DNS:${model.mailHost}`, "-keyout", path.join(dir, "k.pem"), "-out", path.join(dir, "c.pem")], { encoding: "utf8" });
        if (r.status !== 0) throw new Error(r.stderr);
        cert = readFileSync(path.join(dir, "c.pem"), "utf8");
        key = readFileSync(path.join(dir, "k.pem"), "utf8");
    });
    afterAll(() => {
        for (const s of servers) s.close();
        rmSync(dir, { recursive: true, force: true });
    });

    /** A loopback server that talks `script` in clear, then (when it returns true) TLS with the throwaway certificate. */
    async function serve(script: (socket: net.Socket, line: (l: string) => void) => (line: string) => boolean | void): Promise<number> {
        const server = net.createServer((socket) => {
            let buffer = "";
            const send = (l: string) => socket.write(`${l}\r\n`);
            const onLine = script(socket, send);
            const onData = (d: Buffer) => {
                buffer += d.toString("latin1");
                let nl: number;
                while ((nl = buffer.indexOf("\n")) >= 0) {
                    const line = buffer.slice(0, nl).replace(/\r$/, "");
                    buffer = buffer.slice(nl + 1);
                    if (onLine(line) === true) {
                        socket.off("data", onData);
                        const secure = new tls.TLSSocket(socket, { isServer: true, cert, key });
                        secure.on("error", () => undefined);
                        return;
                    }
                }
            };
            socket.on("data", onData);
            socket.on("error", () => undefined);
        });
        servers.push(server);
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        return (server.address() as net.AddressInfo).port;
    }

    const smtp = (offer: boolean) => (socket: net.Socket, send: (l: string) => void) => {
        send(`220-${model.mailHost} ESMTP`);
        send(`220 ${model.mailHost} ready`);
        return (line: string) => {
            if (/^EHLO /i.test(line)) for (const l of [`250-${model.mailHost}`, "250-PIPELINING", ...(offer ? ["250-STARTTLS"] : []), "250 8BITMIME"]) send(l);
            else if (/^STARTTLS$/i.test(line)) return (send("220 2.0.0 Ready to start TLS"), true);
            else if (/^QUIT$/i.test(line)) socket.end("221 bye\r\n");
            return false;
        };
    };
    const sieve = (offer: boolean) => (_socket: net.Socket, send: (l: string) => void) => {
        for (const l of ['"IMPLEMENTATION" "Dovecot Pigeonhole"', '"SIEVE" "fileinto reject"', ...(offer ? ['"STARTTLS"'] : []), '"VERSION" "1.0"', 'OK "ready."']) send(l);
        return (line: string) => {
            if (/^STARTTLS$/i.test(line)) return (send('OK "Begin TLS negotiation now."'), true);
            return false;
        };
    };

    /** Runs the TLS-port checks of one port-table row (at `port` on loopback), with the throwaway certificate trusted. */
    async function check(row: PortRow, port: number): Promise<Record<string, Result>> {
        const m = { ...model, ports: [{ ...row, publicPort: port }] };
        const ctx = {
            model: m,
            dns: { query: async () => ({ rcode: "NOERROR", records: ["127.0.0.1"], server: "test", authoritative: true }) },
            timeoutMs: 2000,
            facts: new Map<string, string>(),
        } as unknown as DoctorContext;
        // Only this file's checks: the DNS servers check they need is taken as passed.
        const checks = tlsPortChecks({ model: m }, { ca: [cert] }).map((c): Check<DoctorContext> => ({ ...c, needs: (c.needs ?? []).filter((n) => n.startsWith("tls.")), after: [] }));
        const results = await runChecks(checks, { only: [], skip: [] }, ctx, { hasOutputs: true });
        return Object.fromEntries(results.map((r) => [r.id.replace(`:${port}`, ":PORT"), r]));
    }

    it("SMTP: banner, EHLO with STARTTLS, 220, then the certificate is judged (10 days left: warn)", async () => {
        const r = await check(rowNamed("smtp"), await serve(smtp(true)));
        expect(r["tls.port:PORT"]).toMatchObject({ status: "ok", detail: `issued by ${model.mailHost}, valid for ${model.mailHost}` });
        expect(r["tls.port-expiry:PORT"]).toMatchObject({ status: "warn", detail: expect.stringMatching(/\(9 days left\)|\(10 days left\)/) });
    });

    it("SMTP without STARTTLS in EHLO fails naming what it offers, with the Mailu TLS fix; expiry skips", async () => {
        const r = await check(rowNamed("smtp"), await serve(smtp(false)));
        expect(r["tls.port:PORT"]).toMatchObject({ status: "fail", detail: expect.stringContaining("EHLO does not offer STARTTLS (offers PIPELINING, 8BITMIME)"), fix: expect.stringContaining("TLS_FLAVOR") });
        expect(r["tls.port-expiry:PORT"]).toMatchObject({ status: "skipped", dependsOn: "tls.port:" + r["tls.port:PORT"].id.split(":")[1] });
    });

    it("ManageSieve: the greeting's \"STARTTLS\" capability, OK, then TLS", async () => {
        expect((await check(rowNamed("sieve"), await serve(sieve(true))))["tls.port:PORT"]).toMatchObject({ status: "ok" });
        expect((await check(rowNamed("sieve"), await serve(sieve(false))))["tls.port:PORT"]).toMatchObject({ status: "fail", detail: expect.stringContaining("ManageSieve does not offer STARTTLS (capabilities: IMPLEMENTATION, SIEVE, VERSION)") });
    });

    it("implicit TLS (993): the certificate for the mail host verifies with the given CA; a wrong name fails", async () => {
        const server = tls.createServer({ cert, key }, (s) => s.end());
        servers.push(server);
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as net.AddressInfo).port;
        expect((await check(rowNamed("imaps"), port))["tls.port:PORT"]).toMatchObject({ status: "ok" });
        const other = await check(rowNamed("https"), port);
        expect(other[`tls.port:PORT:autoconfig.example.com`]).toMatchObject({ status: "fail", detail: expect.stringContaining("autoconfig.example.com"), fix: expect.stringContaining("logs front | grep -i certbot") });
    });

    it("a closed port points at the VPS; a port the VPS takes and closes points at Mailu's front at home", async () => {
        const closed = net.createServer();
        await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
        const closedPort = (closed.address() as net.AddressInfo).port;
        await new Promise<void>((resolve) => closed.close(() => resolve()));
        expect((await check(rowNamed("imaps"), closedPort))["tls.port:PORT"]).toMatchObject({ status: "fail", fix: expect.stringContaining("docker compose -f /opt/homemail/gateway/compose.yaml ps traefik") });
        // What Traefik does when home does not answer: accepts, then closes.
        const hangUp = net.createServer((s) => s.destroy());
        servers.push(hangUp);
        await new Promise<void>((resolve) => hangUp.listen(0, "127.0.0.1", resolve));
        const port = (hangUp.address() as net.AddressInfo).port;
        expect((await check(rowNamed("imaps"), port))["tls.port:PORT"]).toMatchObject({ status: "fail", fix: expect.stringContaining(`docker compose -f /opt/homemail/mailu/compose.yaml ps front\` (Mailu's front must listen on ${model.addresses.wgSpoke}:993`) });
        expect((await check(rowNamed("smtp"), port))["tls.port:PORT"]).toMatchObject({ status: "fail", fix: expect.stringContaining("/opt/homemail/mailu/compose.yaml ps front") });
    });
});
