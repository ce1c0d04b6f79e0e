/**
 * `homemail-smtp-egress disable` runs as root on what its state directory says. A record that the
 * script could not have written (a tampered or corrupt ledger or sysctl.orig) must stop it before
 * any change: never a write outside /proc/sys, never an iptables or ip call with foreign arguments.
 * Runs the real home script with logging stand-ins for iptables and ip.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../helpers/stack";

const LEDGER_HEADER = "# homemail-smtp-egress ledger v1";
const TAG = "-m comment --comment homemail-smtp-egress";

function fixture() {
    const root = mkdtempSync(path.join(tmpdir(), "hm-egress-ledger-"));
    const bin = path.join(root, "bin");
    const state = path.join(root, "state");
    mkdirSync(bin);
    mkdirSync(state, { mode: 0o700 });
    const calls = path.join(root, "calls");
    // Stand-ins: log every call; nothing is ever present (-C and `rule show` find nothing).
    for (const tool of ["iptables", "ip"]) {
        writeFileSync(path.join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> "${calls}"\ncase "$*" in *" -C "*|*"rule show"*) exit 1;; esac\nexit 0\n`);
        chmodSync(path.join(bin, tool), 0o755);
    }
    const env = path.join(root, "smtp-egress.env");
    writeFileSync(env, [
        `HOMEMAIL_STATE_DIR=${state}`,
        "HOMEMAIL_WG_INTERFACE=wg0",
        "HOMEMAIL_MAILU_SUBNET=192.168.203.0/24",
        "HOMEMAIL_MAILU_BRIDGE=br-mailu",
        "HOMEMAIL_EGRESS_FWMARK=25",
        "HOMEMAIL_EGRESS_TABLE=100",
        "HOMEMAIL_EGRESS_RULE_PRIORITY=10025",
        "",
    ].join("\n"));
    const disable = () =>
        spawnSync("bash", [path.join(REPO_ROOT, "assets/egress/home.sh"), "disable"], {
            encoding: "utf8",
            env: {
                PATH: `${bin}:/usr/bin:/bin:/usr/sbin:/sbin`,
                HOMEMAIL_EGRESS_ENV: env,
                HOMEMAIL_EGRESS_LIB: path.join(REPO_ROOT, "assets/egress/lib.sh"),
            },
        });
    const ledger = (...entries: string[][]) => writeFileSync(path.join(state, "ledger"), [LEDGER_HEADER, ...entries.map((e) => e.join("\t")), ""].join("\n"));
    const sysctls = (...lines: string[]) => writeFileSync(path.join(state, "sysctl.orig"), lines.map((l) => `${l}\n`).join(""));
    const called = () => (existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : []);
    return { root, state, disable, ledger, sysctls, called, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

describe("egress disable validates every state record before acting", () => {
    let f: ReturnType<typeof fixture>;
    beforeEach(() => (f = fixture()));
    afterEach(() => f.cleanup());

    it("refuses a sysctl key that walks out of /proc/sys, and writes nothing", () => {
        const victim = path.join(f.root, "victim");
        writeFileSync(victim, "original\n");
        f.ledger(["sysctl", "net/ipv4/ip_forward"]);
        f.sysctls("net/ipv4/ip_forward=0", `../..${victim}=1`);
        const r = f.disable();
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/sysctl\.orig line 2: not a \/proc\/sys name and a number; nothing was changed/);
        expect(readFileSync(victim, "utf8")).toBe("original\n");
        expect(f.called()).toEqual([]);
        expect(existsSync(path.join(f.state, "ledger"))).toBe(true); // the record stays for inspection
    });

    it.each([
        ["an iptables rule without homemail's comment", ["iptables", "filter", "INPUT", "-j ACCEPT"], /iptables rule does not carry homemail's comment/],
        ["shell syntax in rule words", ["iptables", "nat", "POSTROUTING", `-o eth0 $(touch /tmp/x) ${TAG} -j ACCEPT`], /iptables entry is not table, chain and rule words/],
        ["an unknown table", ["iptables", "security", "INPUT", `${TAG} -j ACCEPT`], /iptables entry is not table, chain and rule words/],
        ["a sysctl key with a dot component", ["sysctl", "net/../../etc/passwd"], /sysctl key .* is not a \/proc\/sys name/],
        ["an ip rule with words for a priority", ["ip-rule", "10025 from all", "0x19", "100"], /ip-rule entry is not priority, fwmark and table/],
        ["an unknown kind", ["exec", "rm -rf /"], /unknown entry kind 'exec'/],
    ])("refuses %s, naming the ledger line, and calls neither iptables nor ip", (_what, bad, message) => {
        f.ledger(["ip-rule", "10025", "0x19", "100"], bad);
        const r = f.disable();
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/ledger line 3: /);
        expect(r.stderr).toMatch(message);
        expect(f.called()).toEqual([]);
    });

    it("replays a ledger as enable writes it (every kind), removing the records after", () => {
        f.ledger(
            ["sysctl", "net/ipv4/conf/wg0/rp_filter"],
            ["iptables", "mangle", "PREROUTING", `-i br-mailu -s 192.168.203.0/24 -p tcp --dport 25 ${TAG} -j MARK --set-mark 0x19`],
            ["ip-route", "100", "default dev wg0"],
            ["ip-rule", "10025", "0x19", "100"],
        );
        const r = f.disable();
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(f.called().some((c) => c.startsWith("iptables") && c.includes("-C PREROUTING"))).toBe(true);
        expect(existsSync(path.join(f.state, "ledger"))).toBe(false);
    });
});
