/**
 * Lab: the real assets/gateway/firewall.sh with the rendered env file (only the state directory
 * moved into a temp dir) in a "vps" namespace that already has rules of its own; a client
 * namespace probes it from outside.
 *
 * Proves: only the port table, SSH and WireGuard get in over IPv4, only SSH and WireGuard over
 * IPv6 (an IPv6 client, issue 13 hole 6); loopback and the VPS's own outbound flows keep working; enable twice changes nothing; a port change re-applies in place; status/verify
 * only read; disable gives back exactly the iptables-save it found; SSH cannot be locked out.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { renderFirewall } from "../../components/render/gateway";
import { describeRoot } from "../helpers/root";
import { devModel } from "../helpers/stack";
import { Background, Lab, Netns, waitForAsync } from "./harness";

const REPO = path.resolve(__dirname, "..", "..");
const SCRIPT = path.join(REPO, "assets", "gateway", "firewall.sh");
const SUPPORT = path.join(__dirname, "support");
const CLIENT_IP = "203.0.113.77";
/** Documentation IPv6 addresses on the same link: most VPS images have a global IPv6 too. */
const CLIENT_IP6 = "2001:db8:77::77";
const VPS_IP6 = "2001:db8:77::10";
const CLOSED_TCP = [3306, 8080];
const CLOSED_UDP = 5353;

describeRoot("lab: the VPS host firewall", () => {
    const model = devModel();
    const vpsIp = model.addresses.vpsPublicIp;
    const openTcp = [...new Set([model.vps.ssh.port, ...model.ports.map((p) => p.publicPort)])];
    let lab: Lab;
    let stateDir: string;
    let envFile: string;
    let cli: Netns, vps: Netns;
    let listeners: Background;
    let listeners6: Background;
    let original = "";

    const renderedEnv = () =>
        renderFirewall(model, "").find((f) => f.path.endsWith(".env"))!.content.replace(/^HOMEMAIL_STATE_DIR=.*$/m, `HOMEMAIL_STATE_DIR=${stateDir}`);
    const fw = (cmd: string) => vps.run(["bash", SCRIPT, cmd], { env: { HOMEMAIL_GATEWAY_FIREWALL_ENV: envFile }, allowFailure: true });
    /** iptables-save without its timestamp comments and packet counters. */
    const save = (tool: string) => vps.run([tool]).stdout.split("\n").filter((l) => !l.startsWith("#")).map((l) => l.replace(/\[\d+:\d+\]/, "[0:0]")).join("\n");
    /** iptables-save and ip6tables-save. */
    const rules = () => `${save("iptables-save")}\n== ipv6\n${save("ip6tables-save")}`;
    const tcpOpen = (port: number, ip = vpsIp) => cli.run(["nc", "-z", "-w", "1", ip, String(port)], { allowFailure: true }).status === 0;
    const tcpOpen6 = (port: number) => tcpOpen(port, VPS_IP6);
    const udpDelivered = async (port: number, ip = vpsIp) => {
        const marker = `probe-${port}-${ip}-${Date.now()}`;
        cli.run(["sh", "-c", `printf '${marker}\\n' | nc -u -w 1 -q 0 ${ip} ${port}`], { allowFailure: true });
        const seen = () => listeners.output().includes(marker) || listeners6.output().includes(marker);
        try {
            await waitForAsync(seen, 1500, `timed out waiting for udp ${port}`);
            return true;
        } catch {
            return false;
        }
    };

    beforeAll(async () => {
        lab = new Lab("gf");
        stateDir = path.join(lab.dir, "state");
        envFile = path.join(lab.dir, "gateway-firewall.env");
        cli = lab.netns("cli");
        vps = lab.netns("vps");
        lab.link(cli, "eth0", `${CLIENT_IP}/24`, vps, "eth0", `${vpsIp}/24`);
        // The VPS already has rules of its own (an admin's INPUT rule, a Docker-like chain).
        vps.run(["iptables", "-A", "INPUT", "-p", "tcp", "--dport", "9999", "-j", "ACCEPT"]);
        vps.run(["ip6tables", "-A", "INPUT", "-p", "tcp", "--dport", "9999", "-j", "ACCEPT"]);
        vps.run(["iptables", "-N", "DOCKER-USER"]);
        vps.run(["iptables", "-A", "FORWARD", "-j", "DOCKER-USER"]);
        writeFileSync(envFile, renderedEnv());
        listeners = vps.spawn(["python3", path.join(SUPPORT, "listeners.py"), "0.0.0.0", `tcp:${[...openTcp, ...CLOSED_TCP].join(",")}`, `udp:${model.addresses.wgPort},${CLOSED_UDP}`]);
        await waitForAsync(() => listeners.output().includes('"ready"'), 10000, "timed out waiting for the listeners");
        for (const [place, ip] of [[cli, CLIENT_IP6], [vps, VPS_IP6]] as const) place.run(["ip", "-6", "address", "add", `${ip}/64`, "dev", "eth0", "nodad"]);
        listeners6 = vps.spawn(["python3", path.join(SUPPORT, "listeners.py"), "::", `tcp:${[...openTcp, ...CLOSED_TCP].join(",")}`, `udp:${model.addresses.wgPort},${CLOSED_UDP}`]);
        await waitForAsync(() => listeners6.output().includes('"ready"'), 10000, "timed out waiting for the IPv6 listeners");
        original = rules();
    }, 60000);

    afterAll(() => lab?.cleanup());

    it("lets everything in before it is enabled (the probes work, over IPv4 and IPv6)", async () => {
        for (const p of [...openTcp, ...CLOSED_TCP]) expect([p, tcpOpen(p), tcpOpen6(p)]).toEqual([p, true, true]);
        expect(await udpDelivered(CLOSED_UDP)).toBe(true);
        expect(await udpDelivered(CLOSED_UDP, VPS_IP6)).toBe(true);
    });

    it("after enable, accepts the port table, SSH and WireGuard and drops everything else", async () => {
        const r = fw("enable");
        expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
        for (const p of openTcp) expect([p, tcpOpen(p)]).toEqual([p, true]);
        for (const p of CLOSED_TCP) expect([p, tcpOpen(p)]).toEqual([p, false]);
        expect(await udpDelivered(model.addresses.wgPort)).toBe(true);
        expect(await udpDelivered(CLOSED_UDP)).toBe(false);
        // Over IPv6 only SSH and WireGuard: nothing else is published there.
        for (const p of [...openTcp, ...CLOSED_TCP]) expect([p, tcpOpen6(p)]).toEqual([p, p === model.vps.ssh.port]);
        expect(await udpDelivered(model.addresses.wgPort, VPS_IP6)).toBe(true);
        expect(await udpDelivered(CLOSED_UDP, VPS_IP6)).toBe(false);
        // INPUT's policy is untouched: the chain is a jump, the admin's own rule is still there.
        expect(rules()).toMatch(/^:INPUT ACCEPT/m);
        expect(rules().match(/-A INPUT -p tcp -m tcp --dport 9999 -j ACCEPT/g)).toHaveLength(2);
    });

    it("keeps loopback and the VPS's own outbound connections working", async () => {
        expect(vps.run(["nc", "-z", "-w", "1", "127.0.0.1", String(CLOSED_TCP[1])], { allowFailure: true }).status).toBe(0);
        const back = cli.spawn(["python3", path.join(SUPPORT, "listeners.py"), CLIENT_IP, "tcp:8443"]);
        await waitForAsync(() => back.output().includes('"ready"'), 10000, "timed out waiting for the client's listener");
        expect(vps.run(["nc", "-z", "-w", "2", CLIENT_IP, "8443"], { allowFailure: true }).status).toBe(0);
    });

    it("changes nothing on a second enable, and status/verify only read", () => {
        const before = rules();
        const stateBefore = readdirSync(stateDir).map((f) => [f, readFileSync(path.join(stateDir, f), "utf8")]);
        const again = fw("enable");
        expect(again.status).toBe(0);
        expect(again.stdout).toMatch(/^unchanged/);
        expect(fw("status").status).toBe(0);
        const verify = fw("verify");
        expect(verify.stdout).toMatch(/^ok/);
        expect(verify.status).toBe(0);
        expect(rules()).toBe(before);
        expect(readdirSync(stateDir).map((f) => [f, readFileSync(path.join(stateDir, f), "utf8")])).toEqual(stateBefore);
    });

    it("verify reports a rule someone changed, and enable puts it back", () => {
        vps.run(["iptables", "-I", "HOMEMAIL-IN", "1", "-p", "tcp", "--dport", "8080", "-j", "ACCEPT"]);
        const verify = fw("verify");
        expect(verify.status).toBe(1);
        expect(verify.stdout).toMatch(/changed since enable/);
        expect(tcpOpen(8080)).toBe(true);
        expect(fw("enable").stdout).toMatch(/^applied/);
        expect(tcpOpen(8080)).toBe(false);
        expect(fw("verify").status).toBe(0);
    });

    it("re-applies in place when the port list changes (one transaction, no gap in SSH)", () => {
        writeFileSync(envFile, renderedEnv().replace(/^(HOMEMAIL_FW_TCP_PORTS=.*)$/m, "$1,8080"));
        expect(fw("verify").status).toBe(1);
        expect(fw("enable").stdout).toMatch(/^applied/);
        expect(tcpOpen(8080)).toBe(true);
        expect(tcpOpen(3306)).toBe(false);
        expect(rules().match(/-j HOMEMAIL-IN/g)).toHaveLength(2); // one jump per family
        writeFileSync(envFile, renderedEnv());
        expect(fw("enable").status).toBe(0);
        expect(tcpOpen(8080)).toBe(false);
    });

    it("refuses a config that would lock SSH out, changing nothing", () => {
        const before = rules();
        writeFileSync(envFile, renderedEnv().replace(/^HOMEMAIL_FW_TCP_PORTS=.*$/m, "HOMEMAIL_FW_TCP_PORTS=25,80,443"));
        const r = fw("enable");
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/SSH port .* refusing to lock SSH out/);
        expect(rules()).toBe(before);
        writeFileSync(envFile, renderedEnv());
    });

    it("after disable, iptables-save is exactly what it was, everything connects, and disable again is a no-op", () => {
        const r = fw("disable");
        expect(r.status).toBe(0);
        expect(rules()).toBe(original);
        for (const p of [...openTcp, ...CLOSED_TCP]) expect([p, tcpOpen(p), tcpOpen6(p)]).toEqual([p, true, true]);
        const again = fw("disable");
        expect(again.status).toBe(0);
        expect(again.stdout).toMatch(/not enabled/);
        expect(rules()).toBe(original);
        expect(fw("verify").status).toBe(1);
    });
});
