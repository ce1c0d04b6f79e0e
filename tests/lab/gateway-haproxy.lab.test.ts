/**
 * Lab: the rendered haproxy.cfg, unmodified, run by Debian's HAProxy in a "vps" namespace whose wg0
 * stand-in holds the hub address; Mailu's port 25 is a PROXY-v2-parsing SMTP stand-in at the real
 * spoke address in a "home" namespace; a sending MTA connects from a third namespace to the VPS's
 * public address.
 *
 * Proves: server-first SMTP works through the gateway (the client gets the banner without sending
 * a byte), Mailu receives a PROXY v2 header naming the real client address, and a master-worker
 * reload (SIGUSR2) keeps an open SMTP session alive while new ones keep working.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { renderHaproxyConfig } from "../../components/render/haproxy";
import { describeRoot } from "../helpers/root";
import { devModel } from "../helpers/stack";
import { Background, Lab } from "./support/netns";

const SUPPORT = path.join(__dirname, "support");
const CLIENT_IP = "203.0.113.77";

describeRoot("lab: HAProxy forwards SMTP to home with PROXY v2", () => {
    const model = devModel();
    const a = model.addresses;
    const lab = new Lab("hmgh");
    const dir = mkdtempSync(path.join(tmpdir(), "hm-lab-haproxy-"));
    let cli: string, vps: string, home: string;
    let backend: Background;
    let haproxy: Background;

    const client = (pauseSeconds?: number) =>
        lab.exec(cli, ["python3", path.join(SUPPORT, "smtp_client.py"), a.vpsPublicIp, "25", ...(pauseSeconds ? [String(pauseSeconds)] : [])]);
    const proxyEntries = () =>
        backend
            .output()
            .split("\n")
            .filter((l) => l.startsWith("{"))
            .map((l) => JSON.parse(l) as Record<string, unknown>);

    beforeAll(async () => {
        cli = lab.ns("cli");
        vps = lab.ns("vps");
        home = lab.ns("home");
        lab.link({ ns: cli, ifname: "eth0", cidr: `${CLIENT_IP}/24` }, { ns: vps, ifname: "eth0", cidr: `${a.vpsPublicIp}/24` });
        lab.link({ ns: vps, ifname: "wg0", cidr: `${a.wgHub}/${a.wgPrefixLength}` }, { ns: home, ifname: "wg0", cidr: `${a.wgSpoke}/${a.wgPrefixLength}` });

        backend = lab.start(home, ["python3", path.join(SUPPORT, "smtp_backend.py"), a.wgSpoke, "25", model.mailHost]);
        await lab.waitFor("the Mailu stand-in", () => lab.listening(home, 25));

        const cfg = path.join(dir, "haproxy.cfg");
        writeFileSync(cfg, renderHaproxyConfig(model));
        haproxy = lab.start(vps, ["haproxy", "-W", "-db", "-f", cfg]);
        await lab.waitFor("HAProxy on :25", () => lab.listening(vps, 25));
    }, 60000);

    afterAll(async () => {
        await lab.cleanup();
        rmSync(dir, { recursive: true, force: true });
    });

    it("greets the sending MTA first (server-first SMTP), through to Mailu's banner", () => {
        const r = JSON.parse(client()) as Record<string, string>;
        expect(r.banner).toBe(`220 ${model.mailHost} ESMTP lab`);
        expect(r.ehlo).toBe(`250 ${model.mailHost}`);
        expect(r.quit).toBe("221 bye");
    });

    // The backend's lines arrive as events: poll (which yields to the event loop) before reading them.
    const proxiedCount = () => proxyEntries().filter((e) => e.command === "PROXY").length;

    it("tells Mailu the real client address in a PROXY v2 header", async () => {
        await lab.waitFor("the backend's log line", () => proxiedCount() >= 1);
        const proxied = proxyEntries().filter((e) => e.command === "PROXY");
        expect(proxied).toHaveLength(1);
        expect(proxied[0]).toEqual({ version: 2, command: "PROXY", src: CLIENT_IP, dst: a.vpsPublicIp, srcPort: expect.any(Number), dstPort: 25 });
        // Every connection HAProxy made (health checks included) started with a valid v2 header.
        expect(proxyEntries().filter((e) => "error" in e)).toEqual([]);
    });

    it("reloads on SIGUSR2 without dropping an open SMTP session", async () => {
        const master = haproxy.proc.pid!;
        const before = proxiedCount();
        const open = lab.start(cli, ["python3", path.join(SUPPORT, "smtp_client.py"), a.vpsPublicIp, "25", "3"]);
        await lab.waitFor("an open session", () => open.output().includes('"paused": true'));
        process.kill(master, "SIGUSR2");
        await lab.waitFor("the reload", () => /Reexecuting Master process|Loading success/i.test(haproxy.output()), 10000);
        // A new session after the reload is served by the new worker...
        expect(JSON.parse(client()).ehlo).toBe(`250 ${model.mailHost}`);
        // ...and the session opened before it completes on the old one.
        await lab.waitFor("the open session to finish", () => open.output().includes('"quit"'), 10000);
        const finished = JSON.parse(open.output().trim().split("\n").pop()!) as Record<string, string>;
        expect(finished).toMatchObject({ ehlo: `250 ${model.mailHost}`, quit: "221 bye" });
        expect(haproxy.proc.exitCode).toBeNull();
        await lab.waitFor("both sessions in the backend's log", () => proxiedCount() === before + 2);
    }, 30000);
});
