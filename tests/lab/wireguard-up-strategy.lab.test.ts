/**
 * The WireGuard `up` step across a wg0.conf change, with the real wg-quick over wireguard-go on a lab
 * hub: Pulumi's two replacement orders replayed with the step's own commands (from the plan).
 * - replace: the new create (enable + restart), then the OLD delete (disable --now): wg0 ends down;
 * - undo-first (deleteBeforeReplace): the old delete, then the new create: wg0 ends up, on the new
 *   config, and the old config's tagged FORWARD rules are gone (PostDown reads iptables-save).
 * The plan's strategy must be one that ends up. No systemd here: a stand-in `systemctl` in the
 * host's private /usr/local/bin maps the wg-quick@ unit verbs to wg-quick, as systemd's unit does.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { Model } from "../../components/config/model";
import type { HostStep } from "../../components/render/hostPlan";
import { WG_RULE_TAG, renderWireguard } from "../../components/render/wireguard";
import { planWireguardLink } from "../../components/render/wireguardPlan";
import { describeRoot } from "../helpers/root";
import { REPO_ROOT, devModel } from "../helpers/stack";
import { Host, Lab } from "./harness";

const WG_GO_TRACKED = path.join(__dirname, "harness", "wireguard-go-tracked.sh");
const ENSURE_KEY = path.join(REPO_ROOT, "assets", "wireguard", "ensure-key.sh");
const SPOKE_KEY = readFileSync(path.join(REPO_ROOT, "tests/fixtures/wireguard/test-only-spoke.pub"), "utf8").trim();

/** systemctl for wg-quick@<if> only, as systemd's wg-quick@.service does it (ExecStart/ExecStop). */
const SYSTEMCTL = `#!/bin/sh
set -e
verb=$1; now=false; unit=
for a in "$@"; do
    case $a in --now) now=true ;; wg-quick@*) unit=\${a#wg-quick@} ;; esac
done
[ -n "$unit" ] || { echo "lab systemctl: only wg-quick@ units" >&2; exit 1; }
is_up() { ip link show "$unit" >/dev/null 2>&1; }
up() { is_up || wg-quick up "$unit"; }
down() { if is_up; then wg-quick down "$unit"; fi; }
case $verb in
enable) if [ $now = true ]; then up; fi ;;
disable) if [ $now = true ]; then down; fi ;;
restart) down; up ;;
*) echo "lab systemctl: $verb not supported" >&2; exit 1 ;;
esac
`;

describeRoot("lab: the WireGuard up step across a conf change (real wg-quick + wireguard-go)", () => {
    let lab: Lab;
    let hub: Host;
    let hubKey = "";
    const v1 = devModel();
    // A change of the port and of the Mailu subnet: wg0 must come back on the new port, and the old
    // subnet's FORWARD rules must not linger.
    const v2: Model = { ...v1, addresses: { ...v1.addresses, wgPort: 51999, mailuSubnet: "192.168.204.0/24" } };
    const keysOf = () => ({ hub: hubKey, spoke: SPOKE_KEY });
    const upStep = (m: Model): HostStep => planWireguardLink(m, "hub", keysOf(), { preflight: "", ensureKey: "", egress: { home: "", vps: "", lib: "" } }).steps.find((s) => s.role === "hub-up")!;

    const env = () => ({ WG_QUICK_USERSPACE_IMPLEMENTATION: WG_GO_TRACKED, HOMEMAIL_LAB_PID_DIR: path.join(lab.dir, "hub"), PATH: "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" });
    const sh = (command: string) => {
        hub.run(["sh", "-c", command], { env: env(), timeoutMs: 30_000 });
        const pid = hub.sh(`cat ${path.join(lab.dir, "hub", "wg0.pid")} 2>/dev/null || true`).stdout.trim();
        if (pid) lab.adopt(Number(pid));
    };
    const installConf = (m: Model) => hub.install("/etc/wireguard/wg0.conf", renderWireguard(m, keysOf()).hub.content, "0600");
    const isUp = () => hub.run(["ip", "link", "show", "wg0"], { allowFailure: true }).status === 0;
    const listenPort = () => hub.run(["wg", "show", "wg0", "listen-port"]).stdout.trim();
    const taggedRules = () => hub.sh(`iptables-save -t filter | grep -- '--comment ${WG_RULE_TAG}' || true`).stdout.trim().split("\n").filter(Boolean);

    /** Start from v1 up, then apply the change: the conf file step first, then `order`. */
    const changeWith = (order: "replace" | "undo-first") => {
        const [before, after] = [upStep(v1), upStep(v2)];
        if (before.undo.kind !== "stop-service") throw new Error("the up step's undo should stop wg-quick@wg0");
        sh(before.undo.command);
        installConf(v1);
        sh(before.command);
        expect(isUp()).toBe(true);
        expect(listenPort()).toBe(String(v1.addresses.wgPort));
        installConf(v2);
        if (order === "replace") {
            sh(after.command);
            sh(before.undo.command);
        } else {
            sh(before.undo.command);
            sh(after.command);
        }
    };

    beforeAll(() => {
        lab = new Lab("wgup");
        hub = lab.host("hub");
        hub.install("/usr/local/bin/systemctl", SYSTEMCTL, "0755");
        hubKey = hub.run(["bash", ENSURE_KEY, "/etc/wireguard/wg0.key", "0"]).stdout.trim();
    });
    afterAll(() => lab?.cleanup());

    it("replace (new create, then the old delete) leaves wg0 down: the wrong strategy", () => {
        changeWith("replace");
        expect(isUp()).toBe(false);
    });

    it("undo-first (old delete, then the new create) leaves wg0 up on the new config, without the old config's rules", () => {
        changeWith("undo-first");
        expect(isUp()).toBe(true);
        expect(listenPort()).toBe(String(v2.addresses.wgPort));
        const rules = taggedRules();
        expect(rules.length).toBeGreaterThan(0);
        expect(rules.filter((r) => r.includes(v1.addresses.mailuSubnet))).toEqual([]);
        expect(rules.filter((r) => r.includes(v2.addresses.mailuSubnet)).length).toBe(2);
    });

    it("the strategy the plan gives the up step ends with wg0 up on the new config", () => {
        const strategy = upStep(v2).strategy;
        if (strategy === "in-place") {
            // An update: the new create runs again, nothing is undone.
            sh(upStep(v1).command);
            installConf(v2);
            sh(upStep(v2).command);
        } else changeWith(strategy);
        expect(isUp()).toBe(true);
        expect(listenPort()).toBe(String(v2.addresses.wgPort));
    });

    it("wg-quick down removes every tagged FORWARD rule, also ones the current file does not list", () => {
        if (!isUp()) sh(upStep(v2).command);
        // A rule of an older config, still in the table.
        hub.run(["iptables", "-A", "FORWARD", "-i", "wg0", "-s", "192.168.205.0/24", "-m", "comment", "--comment", WG_RULE_TAG, "-j", "ACCEPT"]);
        const undo = upStep(v2).undo;
        sh("command" in undo ? undo.command : "false");
        expect(isUp()).toBe(false);
        expect(taggedRules()).toEqual([]);
    });
});
