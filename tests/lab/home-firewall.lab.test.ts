/**
 * Lab: the real assets/home-firewall/firewall.sh with the rendered env file (only the state
 * directory moved into a temp dir) on a "home" host whose Mailu network is set up the way Docker
 * does it (tests/e2e/lab/docker.ts: DNAT of the published front ports on the WireGuard address,
 * FORWARD DROP behind DOCKER-USER), joined to a "hub" through an interface named like the tunnel.
 * The hub stands for the whole VPS side: its tunnel address, the VPS public IP, an Internet mail
 * server egress talks to, and a relay that plays the hairpin (home -> VPS -> home) of HAProxy.
 *
 * Proves (issue 13 hole 7): the hub reaches the front ports, and nothing else through the tunnel
 * does: not another home port, not another published container port, not any source address but
 * the hub's (the VPS public IP included); replies to Mailu's egress and the hairpin path still
 * work; enable twice changes nothing; verify sees tampering; disable restores iptables-save exactly.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { frontPorts, HOME_FIREWALL_ENV_PATH, renderHomeFirewall } from "../../components/render/homeFirewall";
import { dockerBridge } from "../e2e/lab/docker";
import { describeRoot } from "../helpers/root";
import { devModel } from "../helpers/stack";
import { Host, Lab, Netns, waitFor } from "./harness";

const REPO = path.resolve(__dirname, "..", "..");
const SCRIPT = path.join(REPO, "assets", "home-firewall", "firewall.sh");
const PROBE = path.join(__dirname, "harness", "tcp-probe.js");
/** An Internet mail server Mailu sends to (reached through the tunnel by egress). */
const REMOTE_MX = "192.0.2.25";
/** Another Internet address someone on the VPS side might claim as source. */
const SPOOFED = "198.51.100.77";
/** Published by another container on the same address: not a front port. */
const OTHER_PUBLISHED = 8080;
/** A service of the home host itself (sshd, say). */
const HOST_SERVICE = 22;

describeRoot("lab: the home firewall (what the tunnel may reach)", () => {
    const model = devModel();
    const a = model.addresses;
    const front = frontPorts(model);
    const containerAddress = a.mailuGateway.replace(/\.\d+$/, (d) => `.${Number(d.slice(1)) + 8}`);
    let lab: Lab;
    let hub: Netns;
    let home: Host, ctr: Host;
    let envFile: string;
    let stateDir: string;
    let original = "";

    const renderedEnv = () =>
        renderHomeFirewall(model, "").find((f) => f.path === HOME_FIREWALL_ENV_PATH)!.content.replace(/^HOMEMAIL_STATE_DIR=.*$/m, `HOMEMAIL_STATE_DIR=${stateDir}`);
    const fw = (cmd: string) => home.run(["bash", SCRIPT, cmd], { env: { HOMEMAIL_HOME_FIREWALL_ENV: envFile }, allowFailure: true });
    const rules = () => home.run(["iptables-save"]).stdout.split("\n").filter((l) => !l.startsWith("#")).map((l) => l.replace(/\[\d+:\d+\]/, "[0:0]")).join("\n");
    /** WHO through the probe: the peer address the server saw, or undefined when nothing answered. */
    const who = (from: Host | Netns, host: string, port: number): string | undefined => {
        const r = JSON.parse(from.run(["node", PROBE, "who", host, String(port), "0", "1000"], { timeoutMs: 10_000 }).stdout) as { ok: boolean; peer?: string };
        return r.ok ? r.peer : undefined;
    };
    const connectsFrom = (source: string, port: number) =>
        hub.run(["nc", "-z", "-w", "1", "-s", source, a.wgSpoke, String(port)], { allowFailure: true, timeoutMs: 10_000 }).status === 0;
    const serve = (place: Host | Netns, address: string, ports: number[], name: string) => {
        const ready = path.join(lab.dir, `${name}.ready`);
        place.spawn(["node", PROBE, "serve", address, ports.join(","), path.join(lab.dir, `${name}.log`), ready]);
        waitFor(() => existsSync(ready), 10_000, `probe server ${name} did not start`);
    };

    beforeAll(() => {
        lab = new Lab("hfw");
        stateDir = path.join(lab.dir, "state");
        envFile = path.join(lab.dir, "home-firewall.env");
        hub = lab.netns("hub");
        home = lab.host("home");
        ctr = lab.host("ctr");
        lab.link(hub, "wg0", `${a.wgHub}/${a.wgPrefixLength}`, home, "wg0", `${a.wgSpoke}/${a.wgPrefixLength}`);
        for (const ip of [a.vpsPublicIp, REMOTE_MX, SPOOFED]) {
            hub.run(["ip", "address", "add", `${ip}/32`, "dev", "lo"]);
            // The spoke's peer accepts every inner source (egress replies come from anywhere), so
            // home routes the Internet through the tunnel as far as these addresses go.
            home.run(["ip", "route", "add", `${ip}/32`, "via", a.wgHub, "dev", "wg0"]);
        }
        hub.run(["ip", "route", "add", a.mailuSubnet, "via", a.wgSpoke, "dev", "wg0"]);
        const prefixLength = Number(a.mailuSubnet.split("/")[1]);
        const published = [...front, OTHER_PUBLISHED].map((p) => ({ hostAddress: a.wgSpoke, hostPort: p, containerPort: p }));
        dockerBridge(lab, home, { bridge: a.mailuBridge, subnet: a.mailuSubnet, gateway: a.mailuGateway, prefixLength }, ctr, containerAddress, published);
        // An admin's own rule, which must survive enable and disable.
        home.run(["iptables", "-A", "INPUT", "-p", "tcp", "--dport", "9999", "-j", "ACCEPT"]);

        serve(ctr, containerAddress, [...front, OTHER_PUBLISHED], "mailu-front");
        serve(home, "0.0.0.0", [HOST_SERVICE], "home-sshd");
        serve(hub, REMOTE_MX, [25], "remote-mx");
        // HAProxy's part of the hairpin: VPS public IP:25 -> home over the tunnel, from the hub address.
        hub.spawn(["socat", `TCP-LISTEN:25,bind=${a.vpsPublicIp},reuseaddr,fork`, `TCP:${a.wgSpoke}:25,bind=${a.wgHub}`]);
        waitFor(() => hub.listening(25), 10_000, "the hairpin relay did not start");
        writeFileSync(envFile, renderedEnv());
        original = rules();
    }, 60_000);

    afterAll(() => lab?.cleanup());

    it("before enable, the probes get through everywhere (what today's main leaves open)", () => {
        expect(who(hub, a.wgSpoke, HOST_SERVICE)).toBe(a.wgHub);
        expect(who(hub, a.wgSpoke, OTHER_PUBLISHED)).toBe(a.wgHub);
        expect(connectsFrom(a.vpsPublicIp, 25)).toBe(true);
        expect(connectsFrom(SPOOFED, 25)).toBe(true);
    });

    it("after enable, the hub reaches every front port and nothing else; another source reaches nothing", () => {
        const r = fw("enable");
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        for (const p of front) expect([p, who(hub, a.wgSpoke, p)]).toEqual([p, a.wgHub]);
        expect(who(hub, a.wgSpoke, HOST_SERVICE)).toBeUndefined();
        expect(who(hub, a.wgSpoke, OTHER_PUBLISHED)).toBeUndefined();
        expect(who(hub, containerAddress, OTHER_PUBLISHED)).toBeUndefined();
        for (const source of [a.vpsPublicIp, SPOOFED]) for (const p of [25, 443]) expect([source, p, connectsFrom(source, p)]).toEqual([source, p, false]);
        // INPUT's and FORWARD's policies and the admin's rule are as they were.
        expect(rules()).toMatch(/^:INPUT ACCEPT/m);
        expect(rules()).toMatch(/^:FORWARD DROP/m);
        expect(rules()).toContain("-A INPUT -p tcp -m tcp --dport 9999 -j ACCEPT");
    });

    it("lets the replies of Mailu's egress back in, and the hairpin path (home -> VPS -> home) works", () => {
        expect(who(ctr, REMOTE_MX, 25)).toMatch(/\S/);
        // The container's own front, reached through the VPS: the front sees the hub address.
        expect(who(ctr, a.vpsPublicIp, 25)).toBe(a.wgHub);
        // The home host's own traffic into the tunnel gets its replies too.
        expect(who(home, REMOTE_MX, 25)).toBe(a.wgSpoke);
    });

    it("changes nothing on a second enable, and verify is content", () => {
        const before = rules();
        const again = fw("enable");
        expect(again.stdout).toMatch(/^unchanged/);
        expect(fw("status").status).toBe(0);
        expect(fw("verify")).toMatchObject({ status: 0, stdout: expect.stringMatching(/^ok/) });
        expect(rules()).toBe(before);
    });

    const egressRule = () => ["-i", a.mailuBridge, "-o", "wg0", "-p", "tcp", "--dport", "25", "-m", "comment", "--comment", "homemail-smtp-egress", "-j", "ACCEPT"];
    it("coexists with the SMTP egress's rules at the top of DOCKER-USER, and verify catches a rule someone put above its jump", () => {
        // Egress (re)inserts its own tagged rules first: the firewall's jump may follow them.
        home.run(["iptables", "-I", "DOCKER-USER", "1", ...egressRule()]);
        expect(fw("verify").status).toBe(0);
        // Anyone else's rule above it could let the tunnel through.
        home.run(["iptables", "-I", "DOCKER-USER", "1", "-i", "wg0", "-j", "ACCEPT"]);
        expect(who(hub, a.wgSpoke, OTHER_PUBLISHED)).toBe(a.wgHub);
        const verify = fw("verify");
        expect(verify.status).toBe(1);
        expect(verify.stdout).toMatch(/before the DOCKER-USER jump/);
        // enable moves the jump ahead of the foreign rule (homemail's own rules may stay above it).
        expect(fw("enable").stdout).toMatch(/^applied/);
        expect(who(hub, a.wgSpoke, OTHER_PUBLISHED)).toBeUndefined();
        expect(fw("verify").status).toBe(0);
        const userChain = () => home.run(["iptables", "-S", "DOCKER-USER"]).stdout.split("\n").filter((l) => l.startsWith("-A"));
        expect(userChain().findIndex((l) => l.includes("-j HOMEMAIL-WG-FWD"))).toBeLessThan(userChain().indexOf("-A DOCKER-USER -i wg0 -j ACCEPT"));
        // The egress's reapply then puts its rules first again; the jump still leads every foreign rule.
        home.run(["iptables", "-D", "DOCKER-USER", ...egressRule()]);
        home.run(["iptables", "-I", "DOCKER-USER", "1", ...egressRule()]);
        expect(userChain()[0]).toContain("homemail-smtp-egress");
        expect(userChain()[1]).toContain("-j HOMEMAIL-WG-FWD");
        expect(fw("verify").status).toBe(0);
        home.run(["iptables", "-D", "DOCKER-USER", "-i", "wg0", "-j", "ACCEPT"]);
        home.run(["iptables", "-D", "DOCKER-USER", ...egressRule()]);
    });

    it("disable refuses a ledger line enable never writes, touching nothing", () => {
        const ledger = path.join(stateDir, "ledger");
        const kept = readFileSync(ledger, "utf8");
        const before = rules();
        writeFileSync(ledger, `${kept}chain\tfilter\tINPUT\n`);
        const r = fw("disable");
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/refusing an entry enable never writes: chain\tfilter\tINPUT/);
        expect(rules()).toBe(before);
        writeFileSync(ledger, kept);
    });

    it("after disable, iptables-save is exactly what it was, and disable again is a no-op", () => {
        expect(fw("disable").status).toBe(0);
        expect(rules()).toBe(original);
        expect(who(hub, a.wgSpoke, HOST_SERVICE)).toBe(a.wgHub);
        expect(fw("disable").stdout).toMatch(/not enabled/);
        expect(fw("verify").status).toBe(1);
    });
});
