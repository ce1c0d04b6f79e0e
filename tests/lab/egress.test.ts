/**
 * Lab: Mailu's outbound SMTP leaves through the VPS, proven with real connections between network
 * namespaces, using the RENDERED dev stack (`npm run render -- --include-secrets`): its wg0.conf
 * files (run by the real wg-quick over wireguard-go), env files, egress scripts and re-apply unit.
 *
 *   mailu (container) --br-mailu-- home ==eth0== isp ==eth0== vps
 *   192.168.203.10                   198.51.100.20  |   203.0.113.10      wg0 10.0.1.2 <-> 10.0.1.1
 *                                                   mx 192.0.2.25 (TEST-NET-1), probe on 25/80/587
 *
 * The ISP router drops tcp/25 from the home range (a rule the tests can lift). Home carries
 * Docker-like rules (FORWARD policy DROP + DOCKER-USER jump, MASQUERADE of the subnet, raw hairpin
 * drop for the container). Each of home and vps has its own mount namespace (private /etc, /run,
 * /usr/local, /var/lib), so files sit at their real paths and the two wireguard-go never meet.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describeRoot } from "../helpers/root";
import { REPO_ROOT } from "../helpers/stack";
import { Host, Lab, Netns, run, waitFor } from "./harness";
import { withoutUnusedTables } from "./harness/hostState";

const PROBE = path.join(__dirname, "harness", "tcp-probe.js");
const WG_GO_TRACKED = path.join(__dirname, "harness", "wireguard-go-tracked.sh");

// The dev stack's addresses (Pulumi.dev.yaml): the lab builds that topology.
const VPS_PUBLIC = "203.0.113.10";
const HOME_WAN = "198.51.100.20";
const MX = "192.0.2.25";
const CONTAINER = "192.168.203.10";
const SCRIPT = "/usr/local/sbin/homemail-smtp-egress";
const ISP_BLOCK = ["FORWARD", "-s", "198.51.100.0/24", "-p", "tcp", "--dport", "25", "-j", "DROP"];
const BIG = 25 * 1024 * 1024;

interface FileEntry {
    host: "vps" | "home";
    path: string;
    mode: string;
}

interface ProbeResult {
    ok: boolean;
    error?: string;
    peer?: string;
    sha256?: string;
    remoteSha256?: string;
    remoteCount?: number;
    received?: number;
}

describeRoot("lab: SMTP egress through the VPS", () => {
    let lab: Lab;
    let isp: Netns, mx: Netns, mailu: Netns;
    let home: Host, vps: Host;
    let renderDir: string;
    let mxLog: string;
    const publicKeys: Record<"hub" | "spoke", string> = { hub: "", spoke: "" };
    const prior: Record<string, string> = {};
    const started = Date.now();

    /** What the MX answers to a WHO from `from` on `port`. */
    const who = (from: Netns | Host, port: number, timeoutMs = 2500): ProbeResult =>
        JSON.parse(from.run(["node", PROBE, "who", MX, String(port), "0", String(timeoutMs)], { timeoutMs: timeoutMs + 20_000 }).stdout) as ProbeResult;
    const egress = (host: Host, command: string, allowFailure = false) => host.run([SCRIPT, command], { allowFailure, timeoutMs: 60_000 });
    const ispBlocks25 = (on: boolean) => {
        const present = isp.run(["iptables", "-C", ...ISP_BLOCK], { allowFailure: true }).status === 0;
        if (on && !present) isp.run(["iptables", "-I", ...ISP_BLOCK]);
        if (!on && present) isp.run(["iptables", "-D", ...ISP_BLOCK]);
    };
    /** Runs `body` with the ISP's port-25 block lifted, restoring it afterwards. */
    const withoutIspBlock = (body: () => void) => {
        ispBlocks25(false);
        try {
            body();
        } finally {
            ispBlocks25(true);
        }
    };
    const mxLogLines = (): { port: number; peer: string }[] =>
        readFileSync(mxLog, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { port: number; peer: string });

    /**
     * Every piece of host state the egress scripts may touch, in a comparable text form: the full
     * iptables-save without counters, ip rules, IPv4 routes of all tables (the scripts are IPv4-only;
     * IPv6 link-local routes change by themselves when wg0 is re-created) and the IPv4 sysctls.
     */
    const snapshot = (host: Host): string =>
        [
            "== iptables-save (no counters)",
            withoutUnusedTables(host.sh("iptables-save | grep -v '^#' | sed -E 's/ \\[[0-9]+:[0-9]+\\]$//'").stdout),
            "== ip rule",
            host.run(["ip", "rule", "show"]).stdout,
            "== IPv4 routes, all tables",
            host.run(["ip", "-4", "route", "show", "table", "all"]).stdout,
            "== sysctls",
            host.sh("sysctl -a -r '^net\\.ipv4\\.(ip_forward|conf\\.)' 2>/dev/null").stdout,
        ].join("\n");
    const ledger = (host: Host) => host.sh("cat /var/lib/homemail/smtp-egress/ledger /var/lib/homemail/smtp-egress/sysctl.orig 2>/dev/null || true").stdout;

    /** Docker-like rules on home, as Docker 27/28 leaves them for one bridge network and one container. */
    const dockerRules = () =>
        home.sh(`set -e
            iptables -N DOCKER-USER 2>/dev/null || true
            iptables -P FORWARD DROP
            iptables -A FORWARD -j DOCKER-USER
            iptables -A FORWARD -o br-mailu -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
            iptables -A FORWARD -i br-mailu ! -o br-mailu -j ACCEPT
            iptables -A FORWARD -i br-mailu -o br-mailu -j ACCEPT
            iptables -A DOCKER-USER -j RETURN
            iptables -t nat -A POSTROUTING -s 192.168.203.0/24 ! -o br-mailu -j MASQUERADE
            iptables -t raw -A PREROUTING -d ${CONTAINER}/32 ! -i br-mailu -j DROP`);
    /** Docker restarting: it flushes the chains it manages and builds them again. */
    const dockerRestart = () => {
        home.sh("iptables -F FORWARD; iptables -F DOCKER-USER; iptables -t nat -F POSTROUTING; iptables -t raw -F PREROUTING");
        dockerRules();
    };
    /** What the rendered systemd unit runs after docker.service / wg-quick@wg0 (no systemd here). */
    const unitExecStart = (host: Host) => {
        const unit = readFileSync(path.join(renderDir, "hosts", host.name, "etc/systemd/system/homemail-smtp-egress.service"), "utf8");
        const line = unit.split("\n").find((l) => l.startsWith("ExecStart="));
        if (!line) throw new Error("rendered unit has no ExecStart");
        return host.run(line.slice("ExecStart=".length).split(" "), { timeoutMs: 60_000 });
    };

    const wgUp = (host: Host) => {
        const pidDir = path.join(lab.dir, host.name);
        host.run(["wg-quick", "up", "wg0"], { env: { WG_QUICK_USERSPACE_IMPLEMENTATION: WG_GO_TRACKED, HOMEMAIL_LAB_PID_DIR: pidDir }, timeoutMs: 30_000 });
        lab.adopt(Number(readFileSync(path.join(pidDir, "wg0.pid"), "utf8")));
    };
    const wgPid = (host: Host) => Number(readFileSync(path.join(lab.dir, host.name, "wg0.pid"), "utf8"));
    /** Tunnel gone on one host: wg-quick down (PostDown runs), and the daemon stopped by PID. */
    const wgDown = (host: Host) => {
        host.run(["wg-quick", "down", "wg0"], { allowFailure: true, timeoutMs: 30_000 });
        lab.stop(wgPid(host));
        waitFor(() => host.run(["ip", "link", "show", "wg0"], { allowFailure: true }).status !== 0, 5000, `${host.name}: wg0 still there`);
    };
    /** As after a reboot: /run emptied, the daemon gone, wg-quick@wg0 started again (its PostUp re-applies). */
    const rebootLike = (host: Host) => {
        host.wipeRun();
        lab.stop(wgPid(host));
        host.run(["ip", "link", "del", "wg0"], { allowFailure: true });
        wgUp(host);
    };

    beforeAll(() => {
        lab = new Lab("eg");
        try {
            // The dev stack rendered exactly as `npm run render` does, secrets included (labs only).
            renderDir = path.join(lab.dir, "render");
            run(["npx", "tsx", "scripts/render.ts", "--stack", "dev", "--out", renderDir, "--include-secrets"], { cwd: REPO_ROOT, timeoutMs: 90_000 });
            renderDir = path.join(renderDir, "dev");

            isp = lab.netns("isp");
            mx = lab.netns("mx");
            mailu = lab.netns("mailu");
            vps = lab.host("vps");
            home = lab.host("home");
            lab.link(isp, "to-home", "198.51.100.1/24", home, "eth0", `${HOME_WAN}/24`);
            lab.link(isp, "to-vps", "203.0.113.1/24", vps, "eth0", `${VPS_PUBLIC}/24`);
            lab.link(isp, "to-mx", "192.0.2.1/24", mx, "eth0", `${MX}/24`);
            isp.sh("sysctl -q -w net.ipv4.ip_forward=1");
            ispBlocks25(true);
            mx.run(["ip", "route", "add", "default", "via", "192.0.2.1"]);
            vps.run(["ip", "route", "add", "default", "via", "203.0.113.1"]);
            home.run(["ip", "route", "add", "default", "via", "198.51.100.1"]);
            // The VPS as Docker leaves it (FORWARD policy DROP, its own MASQUERADE); forwarding off
            // so that restoring the sysctl is exercised.
            vps.sh(`set -e
                sysctl -q -w net.ipv4.ip_forward=0
                iptables -P FORWARD DROP
                iptables -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE`);

            // Home: Docker-like bridge with one "container", MTU 1500 everywhere but wg0 (1420).
            home.sh("ip link add br-mailu mtu 1500 type bridge && ip address add 192.168.203.1/24 dev br-mailu && ip link set br-mailu up && sysctl -q -w net.ipv4.ip_forward=1");
            lab.link(home, "veth-mailu", undefined, mailu, "eth0", `${CONTAINER}/24`, 1500);
            home.run(["ip", "link", "set", "veth-mailu", "master", "br-mailu"]);
            mailu.run(["ip", "route", "add", "default", "via", "192.168.203.1"]);
            dockerRules();

            // Each host's key is born there by the real key step; only the public key comes back.
            const ensureKey = path.join(REPO_ROOT, "assets", "wireguard", "ensure-key.sh");
            for (const [role, host] of [["hub", vps], ["spoke", home]] as const) {
                host.run(["bash", path.join(REPO_ROOT, "assets", "wireguard", "preflight.sh")]);
                publicKeys[role] = host.run(["bash", ensureKey, "/etc/wireguard/wg0.key"]).stdout.trim();
            }

            // Install every rendered host file at its path, swapping the mock engine's fixture public
            // keys for the ones the hosts just reported (what the real run feeds into the render).
            const fixtureKeys = JSON.parse(readFileSync(path.join(REPO_ROOT, "tests/fixtures/provider-outputs.json"), "utf8")).wireguardPublicKeys as Record<string, string>;
            const files = JSON.parse(readFileSync(path.join(renderDir, "files.json"), "utf8")) as FileEntry[];
            for (const f of files) {
                const host = f.host === "vps" ? vps : home;
                let content = readFileSync(path.join(renderDir, "hosts", f.host, f.path), "utf8");
                if (f.path === "/etc/wireguard/wg0.conf") {
                    content = content.replace(fixtureKeys.hub, publicKeys.hub).replace(fixtureKeys.spoke, publicKeys.spoke);
                }
                host.install(f.path, content, f.mode);
            }
            wgUp(vps);
            wgUp(home);
            mxLog = path.join(lab.dir, "mx.log");
            const ready = path.join(lab.dir, "mx.ready");
            mx.spawn(["node", PROBE, "serve", MX, "25,80,587", mxLog, ready]);
            waitFor(() => { try { readFileSync(ready); return true; } catch { return false; } }, 10_000, "MX probe did not start");
        } catch (err) {
            lab.cleanup();
            throw err;
        }
    }, 150_000);

    afterAll(() => {
        lab?.cleanup();
        const left = lab?.leftovers() ?? [];
        process.stderr.write(`lab egress: ${((Date.now() - started) / 1000).toFixed(1)} s wall, leftover namespaces: ${left.length ? left.join(" ") : "none"}\n`);
    });

    it("has distinct host-born keys, and the tunnel carries traffic", () => {
        expect(publicKeys.hub).toMatch(/^[A-Za-z0-9+/]{43}=$/);
        expect(publicKeys.spoke).not.toBe(publicKeys.hub);
        expect(vps.sh("stat -c %a /etc/wireguard/wg0.key").stdout.trim()).toBe("600");
        // wg0 answers across the tunnel: the spoke reaches the hub's WireGuard address.
        expect(home.run(["node", PROBE, "who", "10.0.1.1", "9", "0", "1500"]).stdout).toMatch(/ECONNREFUSED/);
        expect(Number(home.sh("wg show wg0 latest-handshakes | awk '{print $2}'").stdout.trim())).toBeGreaterThan(0);
    });

    it("before enable: the container's SMTP is blocked; its HTTP and the host's SMTP leave from the home WAN", () => {
        prior.home = snapshot(home);
        prior.vps = snapshot(vps);
        expect(who(mailu, 25).ok).toBe(false);
        expect(who(mailu, 80).peer).toBe(HOME_WAN);
        withoutIspBlock(() => expect(who(home, 25).peer).toBe(HOME_WAN));
    });

    it("after enable: the MX sees the VPS public IP; the container's other traffic and the host's SMTP are unchanged", () => {
        egress(vps, "enable");
        egress(home, "enable");
        expect(who(mailu, 25).peer).toBe(VPS_PUBLIC);
        expect(who(mailu, 80).peer).toBe(HOME_WAN);
        expect(who(mailu, 587).peer).toBe(HOME_WAN);
        withoutIspBlock(() => expect(who(home, 25).peer).toBe(HOME_WAN));
        expect(egress(home, "verify").stdout).toMatch(/verify: ok/);
        expect(egress(vps, "verify").stdout).toMatch(/verify: ok/);
    });

    it("enable twice changes nothing (rules, ip rules, routes of all tables, sysctls, ledger)", () => {
        const before = { home: snapshot(home), vps: snapshot(vps), homeLedger: ledger(home), vpsLedger: ledger(vps) };
        const second = { home: egress(home, "enable"), vps: egress(vps, "enable") };
        expect(second.home.status).toBe(0);
        expect(second.home.stdout).not.toMatch(/added|set /);
        expect(second.vps.stdout).not.toMatch(/added|set /);
        expect({ home: snapshot(home), vps: snapshot(vps), homeLedger: ledger(home), vpsLedger: ledger(vps) }).toEqual(before);
    });

    it("status and verify only read", () => {
        const before = { home: snapshot(home), vps: snapshot(vps), homeLedger: ledger(home), vpsLedger: ledger(vps) };
        for (const host of [home, vps]) {
            expect(egress(host, "status").stdout).toMatch(/egress: enabled/);
            expect(egress(host, "verify").status).toBe(0);
        }
        expect({ home: snapshot(home), vps: snapshot(vps), homeLedger: ledger(home), vpsLedger: ledger(vps) }).toEqual(before);
    });

    it("a 25 MB payload crosses the egress path both ways (container/bridge MTU 1500, wg0 1420)", () => {
        expect(home.sh("cat /sys/class/net/wg0/mtu /sys/class/net/br-mailu/mtu").stdout.split("\n").slice(0, 2)).toEqual(["1420", "1500"]);
        expect(mailu.sh("cat /sys/class/net/eth0/mtu").stdout.trim()).toBe("1500");
        const up = JSON.parse(mailu.run(["node", PROBE, "sink", MX, "25", String(BIG), "60000"], { timeoutMs: 70_000 }).stdout) as ProbeResult;
        expect(up).toEqual(expect.objectContaining({ ok: true, remoteCount: BIG }));
        expect(up.remoteSha256).toBe(up.sha256);
        const down = JSON.parse(mailu.run(["node", PROBE, "source", MX, "25", String(BIG), "60000"], { timeoutMs: 70_000 }).stdout) as ProbeResult;
        expect(down).toEqual(expect.objectContaining({ ok: true, received: BIG }));
        // The MX logs a connection when its socket closes, a moment after the client saw the end.
        const sourced = () => mxLogLines().filter((l) => (l as { cmd?: string }).cmd === "SOURCE");
        waitFor(() => sourced().length > 0, 5000, "the MX never logged the SOURCE connection");
        const served = sourced().pop() as { sha256?: string; peer: string };
        expect(served.sha256).toBe(down.sha256);
        expect(served.peer).toBe(VPS_PUBLIC);
    }, 150_000);

    it("Docker re-creating its rules: verify reports drift, the re-apply (unit ExecStart) restores egress", () => {
        dockerRestart();
        const drift = egress(home, "verify", true);
        expect(drift.status).not.toBe(0);
        expect(drift.stdout).toMatch(/drift: missing: iptables -t raw PREROUTING/);
        expect(who(mailu, 25).ok).toBe(false);
        unitExecStart(home);
        expect(who(mailu, 25).peer).toBe(VPS_PUBLIC);
        expect(egress(home, "verify").status).toBe(0);

        // Docker inserting its hairpin drop above ours: ordering drift, repaired the same way.
        home.run(["iptables", "-t", "raw", "-I", "PREROUTING", "1", "-d", `${CONTAINER}/32`, "!", "-i", "br-mailu", "-j", "DROP"]);
        expect(egress(home, "verify", true).stdout).toMatch(/drift: behind a foreign rule: iptables -t raw PREROUTING/);
        expect(who(mailu, 25).ok).toBe(false);
        unitExecStart(home);
        expect(who(mailu, 25).peer).toBe(VPS_PUBLIC);
        // Back to the canonical Docker-like rule set for the comparisons below.
        dockerRestart();
        unitExecStart(home);
        expect(egress(home, "verify").status).toBe(0);
    });

    it("tunnel down: the container's SMTP never reaches the MX from the home WAN, even with no ISP block; tunnel back: egress again", () => {
        withoutIspBlock(() => {
            const seen = mxLogLines().length;
            wgDown(home);
            const attempt = who(mailu, 25);
            expect(attempt.ok).toBe(false);
            expect(egress(home, "verify", true).status).not.toBe(0);
            const leaked = mxLogLines().slice(seen).filter((l) => l.port === 25);
            expect(leaked).toEqual([]);
            // The fail-closed route is what stopped it.
            expect(home.run(["ip", "route", "show", "table", "100"]).stdout).toMatch(/unreachable default/);
            wgUp(home); // its PostUp calls the re-apply
            expect(who(mailu, 25).peer).toBe(VPS_PUBLIC);
            expect(egress(home, "verify").status).toBe(0);
        });
    }, 60_000);

    it("disable after several enables restores the state found before the first enable, exactly", () => {
        egress(home, "disable");
        egress(vps, "disable");
        expect(snapshot(home)).toBe(prior.home);
        expect(snapshot(vps)).toBe(prior.vps);
        expect(vps.sh("sysctl -n net.ipv4.ip_forward").stdout.trim()).toBe("0");
        expect(who(mailu, 25).ok).toBe(false);
    });

    it("disable after exactly one enable restores exactly", () => {
        egress(vps, "enable");
        egress(home, "enable");
        expect(who(mailu, 25).peer).toBe(VPS_PUBLIC);
        egress(home, "disable");
        egress(vps, "disable");
        expect(snapshot(home)).toBe(prior.home);
        expect(snapshot(vps)).toBe(prior.vps);
    });

    it("disable restores exactly what was recorded, whatever the env file says now", () => {
        egress(vps, "enable");
        egress(home, "enable");
        egress(home, "enable");
        const envPath = "/etc/homemail/smtp-egress.env";
        const homeEnv = home.run(["cat", envPath]).stdout;
        const vpsEnv = vps.run(["cat", envPath]).stdout;
        home.install(envPath, homeEnv.replace("HOMEMAIL_EGRESS_TABLE=100", "HOMEMAIL_EGRESS_TABLE=200").replace("HOMEMAIL_EGRESS_FWMARK=25", "HOMEMAIL_EGRESS_FWMARK=26").replace("HOMEMAIL_MAILU_SUBNET=192.168.203.0/24", "HOMEMAIL_MAILU_SUBNET=192.168.204.0/24"));
        vps.install(envPath, vpsEnv.replace("HOMEMAIL_PUBLIC_IP=203.0.113.10", "HOMEMAIL_PUBLIC_IP=203.0.113.11"));
        try {
            egress(home, "disable");
            egress(vps, "disable");
            expect(snapshot(home)).toBe(prior.home);
            expect(snapshot(vps)).toBe(prior.vps);
        } finally {
            home.install(envPath, homeEnv);
            vps.install(envPath, vpsEnv);
        }
    });

    it("disable still restores exactly after /run was wiped as by a reboot (state lives in HOMEMAIL_STATE_DIR)", () => {
        egress(vps, "enable");
        egress(home, "enable");
        rebootLike(vps);
        rebootLike(home); // PostUp re-applies from the ledger
        expect(home.sh("ls -A /run/wireguard").stdout.trim()).toBe("wg0.sock");
        expect(who(mailu, 25).peer).toBe(VPS_PUBLIC);
        egress(home, "disable");
        egress(vps, "disable");
        expect(snapshot(home)).toBe(prior.home);
        expect(snapshot(vps)).toBe(prior.vps);
    }, 60_000);
    /** Runs `body` with the VPS's egress settings edited, restoring them afterwards. */
    const withVpsEnv = (edit: (env: string) => string, body: () => void) => {
        const envPath = "/etc/homemail/smtp-egress.env";
        const original = vps.run(["cat", envPath]).stdout;
        vps.install(envPath, edit(original));
        try {
            body();
        } finally {
            vps.install(envPath, original);
        }
    };

    it("enable stops before any change when vps.wanInterface is absent or does not carry vps.publicIp, naming the key and the fix", () => {
        withVpsEnv((env) => env.replace("HOMEMAIL_WAN_INTERFACE=eth0", "HOMEMAIL_WAN_INTERFACE=ens3"), () => {
            const r = egress(vps, "enable", true);
            expect(r.status).toBe(1);
            expect(r.stderr).toContain("homemail:vps.wanInterface: interface ens3 does not exist on this VPS");
            expect(r.stderr).toContain("set it to the interface of the default route (eth0)");
        });
        expect(snapshot(vps)).toBe(prior.vps);
        withVpsEnv((env) => env.replace("HOMEMAIL_PUBLIC_IP=203.0.113.10", "HOMEMAIL_PUBLIC_IP=203.0.113.11"), () => {
            const r = egress(vps, "enable", true);
            expect(r.status).toBe(1);
            expect(r.stderr).toContain("homemail:vps.publicIp: 203.0.113.11 is not an address of eth0 (it has: 203.0.113.10)");
            expect(r.stderr).toContain("set homemail:vps.oneToOneNat true");
        });
        expect(snapshot(vps)).toBe(prior.vps);
        expect(ledger(vps)).toBe("");
    });

    it("verify reports a WAN interface that lost the public IP after enable", () => {
        egress(vps, "enable");
        try {
            expect(egress(vps, "verify").status).toBe(0);
            vps.run(["ip", "address", "del", `${VPS_PUBLIC}/24`, "dev", "eth0"]);
            vps.run(["ip", "address", "add", "203.0.113.12/24", "dev", "eth0"]);
            const r = egress(vps, "verify", true);
            expect(r.status).toBe(1);
            expect(r.stdout).toMatch(/^drift: homemail:vps\.publicIp: 203\.0\.113\.10 is not an address of eth0 \(it has: 203\.0\.113\.12\)/m);
        } finally {
            vps.run(["ip", "address", "flush", "dev", "eth0"]);
            vps.run(["ip", "address", "add", `${VPS_PUBLIC}/24`, "dev", "eth0"]);
            vps.run(["ip", "route", "replace", "default", "via", "203.0.113.1"]);
            egress(vps, "disable");
        }
        expect(snapshot(vps)).toBe(prior.vps);
    });

    it("with vps.oneToOneNat (the public IP on no interface), mail leaves as the WAN interface's own address; disable restores exactly", () => {
        // The provider's NAT would map 203.0.113.10 (the interface's address here) to the public IP.
        withVpsEnv((env) => env.replace("HOMEMAIL_PUBLIC_IP=203.0.113.10", "HOMEMAIL_PUBLIC_IP=203.0.113.99").replace("HOMEMAIL_ONE_TO_ONE_NAT=false", "HOMEMAIL_ONE_TO_ONE_NAT=true"), () => {
            const enabled = egress(vps, "enable");
            expect(enabled.stdout).toContain("as its own address (1:1 NAT to 203.0.113.99 by the provider)");
            egress(home, "enable");
            expect(who(mailu, 25).peer).toBe(VPS_PUBLIC);
            expect(egress(vps, "verify").stdout).toMatch(/verify: ok/);
            egress(home, "disable");
            egress(vps, "disable");
        });
        expect(snapshot(vps)).toBe(prior.vps);
        expect(snapshot(home)).toBe(prior.home);
    });
});
