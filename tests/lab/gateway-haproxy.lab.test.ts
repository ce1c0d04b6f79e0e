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
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { renderHaproxyConfig } from "../../components/render/haproxy";
import { describeRoot } from "../helpers/root";
import { devModel } from "../helpers/stack";
import { Background, Lab, Netns, waitForAsync } from "./harness";

const SUPPORT = path.join(__dirname, "support");
const CLIENT_IP = "203.0.113.77";

describeRoot("lab: HAProxy forwards SMTP to home with PROXY v2", () => {
    const model = devModel();
    const a = model.addresses;
    let lab: Lab;
    let cli: Netns, vps: Netns, home: Netns;
    let backend: Background;
    let haproxy: Background;

    const client = (pauseSeconds?: number) =>
        cli.run(["python3", path.join(SUPPORT, "smtp_client.py"), a.vpsPublicIp, "25", ...(pauseSeconds ? [String(pauseSeconds)] : [])]).stdout;
    const proxyEntries = () =>
        backend
            .output()
            .split("\n")
            .filter((l) => l.startsWith("{"))
            .map((l) => JSON.parse(l) as Record<string, unknown>);

    beforeAll(async () => {
        lab = new Lab("gh");
        cli = lab.netns("cli");
        vps = lab.netns("vps");
        home = lab.netns("home");
        lab.link(cli, "eth0", `${CLIENT_IP}/24`, vps, "eth0", `${a.vpsPublicIp}/24`);
        lab.link(vps, "wg0", `${a.wgHub}/${a.wgPrefixLength}`, home, "wg0", `${a.wgSpoke}/${a.wgPrefixLength}`);

        backend = home.spawn(["python3", path.join(SUPPORT, "smtp_backend.py"), a.wgSpoke, "25", model.mailHost]);
        await waitForAsync(() => home.listening(25), 10000, "timed out waiting for the Mailu stand-in");

        const cfg = path.join(lab.dir, "haproxy.cfg");
        writeFileSync(cfg, renderHaproxyConfig(model));
        haproxy = vps.spawn(["haproxy", "-W", "-db", "-f", cfg]);
        await waitForAsync(() => vps.listening(25), 10000, "timed out waiting for HAProxy on :25");
    }, 60000);

    afterAll(() => lab?.cleanup());

    it("greets the sending MTA first (server-first SMTP), through to Mailu's banner", () => {
        const r = JSON.parse(client()) as Record<string, string>;
        expect(r.banner).toBe(`220 ${model.mailHost} ESMTP lab`);
        expect(r.ehlo).toBe(`250 ${model.mailHost}`);
        expect(r.quit).toBe("221 bye");
    });

    // The backend's lines arrive as events: poll (which yields to the event loop) before reading them.
    const proxiedCount = () => proxyEntries().filter((e) => e.command === "PROXY").length;

    it("tells Mailu the real client address in a PROXY v2 header", async () => {
        await waitForAsync(() => proxiedCount() >= 1, 10000, "timed out waiting for the backend's log line");
        const proxied = proxyEntries().filter((e) => e.command === "PROXY");
        expect(proxied).toHaveLength(1);
        expect(proxied[0]).toEqual({ version: 2, command: "PROXY", src: CLIENT_IP, dst: a.vpsPublicIp, srcPort: expect.any(Number), dstPort: 25 });
        // Every connection HAProxy made (health checks included) started with a valid v2 header.
        expect(proxyEntries().filter((e) => "error" in e)).toEqual([]);
    });

    it("reloads on SIGUSR2 without dropping an open SMTP session", async () => {
        const master = haproxy.pid;
        const before = proxiedCount();
        const open = cli.spawn(["python3", path.join(SUPPORT, "smtp_client.py"), a.vpsPublicIp, "25", "3"]);
        await waitForAsync(() => open.output().includes('"paused": true'), 10000, "timed out waiting for an open session");
        process.kill(master, "SIGUSR2");
        await waitForAsync(() => /Reexecuting Master process|Loading success/i.test(haproxy.output()), 10000, "timed out waiting for the reload");
        // A new session after the reload is served by the new worker...
        expect(JSON.parse(client()).ehlo).toBe(`250 ${model.mailHost}`);
        // ...and the session opened before it completes on the old one.
        await waitForAsync(() => open.output().includes('"quit"'), 10000, "timed out waiting for the open session to finish");
        const finished = JSON.parse(open.output().trim().split("\n").pop()!) as Record<string, string>;
        expect(finished).toMatchObject({ ehlo: `250 ${model.mailHost}`, quit: "221 bye" });
        expect(haproxy.child.exitCode).toBeNull();
        await waitForAsync(() => proxiedCount() === before + 2, 10000, "timed out waiting for both sessions in the backend's log");
    }, 30000);
});
