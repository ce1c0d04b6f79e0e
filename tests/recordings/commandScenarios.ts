/**
 * Host states the "inside" checks are recorded in: each made on the lab the way it happens in life
 * and undone after, with what the user must see. The recording keeps every command the checks ran
 * and its output; the replay feeds them back, so the checks' judgement of real `wg`, `ip` and
 * `verify` outputs is unit-tested without a lab.
 */
import { HOME_FIREWALL_SCRIPT_PATH } from "../../components/render/homeFirewall";
import type { Model } from "../../components/config";
import type { Result, Status } from "../../scripts/lib/doctor/check";
import { EGRESS_SCRIPT, FIREWALL_SCRIPT } from "../../scripts/lib/doctor/checks/inside";
import { allChecks } from "../../scripts/lib/doctor/registry";
import { runChecks } from "../../scripts/lib/doctor/runner";
import type { HostRole, SshRunner } from "../../scripts/lib/doctor/ssh";
import { REMOTE_MX_HOST } from "../e2e/lab/internet";
import type { MailLab } from "../e2e/lab/topology";
import { offlineContext } from "./offlineContext";

export interface CommandScenario {
    readonly name: string;
    /** What the user must see, by check id (every other inside check: ok, or skipped when listed). */
    readonly expect: Record<string, { status: Status; fix?: RegExp }>;
    readonly inject: (ml: MailLab) => void;
    readonly restore: (ml: MailLab) => void;
}

const nothing = () => undefined;
/** Docker's raw guard for the Mailu stand-in container (tests/e2e/lab/docker.ts). */
export const dockerRawDrop = (ml: MailLab) => ["PREROUTING", "-d", `${ml.home.containerAddress}/32`, "!", "-i", ml.model.addresses.mailuBridge, "-j", "DROP"];
const tunnelBack = (ml: MailLab) => {
    ml.wireguard.up(ml.home.host); // its PostUp re-applies the egress policy
    ml.wireguard.confirmHandshake(ml.home.host, ml.vps.host, ml.model.addresses.wgHub);
};

export const COMMAND_SCENARIOS: readonly CommandScenario[] = [
    { name: "healthy", expect: {}, inject: nothing, restore: nothing },
    {
        name: "tunnel down at home",
        expect: {
            "inside.wg:home": { status: "fail", fix: /systemctl start wg-quick@wg0/ },
            "inside.egress:home": { status: "skipped" },
            "inside.fail-closed:home": { status: "skipped" },
            "inside.mailu-proxy-required:home": { status: "skipped" },
            "inside.egress-path:home": { status: "skipped" },
        },
        inject: (ml) => ml.wireguard.down(ml.home.host),
        restore: tunnelBack,
    },
    {
        name: "egress disabled at home",
        expect: { "inside.egress:home": { status: "fail", fix: new RegExp(`${EGRESS_SCRIPT} reapply`) }, "inside.fail-closed:home": { status: "skipped" }, "inside.egress-path:home": { status: "skipped" } },
        inject: (ml) => ml.home.host.run([EGRESS_SCRIPT, "disable"], { timeoutMs: 60_000 }),
        restore: (ml) => ml.home.host.run([EGRESS_SCRIPT, "enable"], { timeoutMs: 60_000 }),
    },
    {
        name: "VPS firewall disabled",
        expect: { "inside.firewall:vps": { status: "fail", fix: new RegExp(`${FIREWALL_SCRIPT} enable`) } },
        inject: (ml) => ml.vps.host.run([FIREWALL_SCRIPT, "disable"], { timeoutMs: 60_000 }),
        restore: (ml) => ml.vps.host.run([FIREWALL_SCRIPT, "enable"], { timeoutMs: 60_000 }),
    },
    {
        name: "home firewall disabled",
        expect: { "inside.firewall:home": { status: "fail", fix: new RegExp(`${HOME_FIREWALL_SCRIPT_PATH} enable`) } },
        inject: (ml) => ml.home.host.run([HOME_FIREWALL_SCRIPT_PATH, "disable"], { timeoutMs: 60_000 }),
        restore: (ml) => ml.home.host.run([HOME_FIREWALL_SCRIPT_PATH, "enable"], { timeoutMs: 60_000 }),
    },
    {
        // What a Docker restart does: its raw guard for the container goes back to the top.
        name: "Docker's raw rule before homemail's",
        expect: {
            "inside.docker-raw:home": { status: "fail", fix: new RegExp(`${EGRESS_SCRIPT} reapply`) },
            "inside.egress:home": { status: "skipped" },
            "inside.fail-closed:home": { status: "skipped" },
            "inside.egress-path:home": { status: "skipped" },
        },
        inject: (ml) => {
            const drop = dockerRawDrop(ml);
            ml.home.host.run(["iptables", "-w", "-t", "raw", "-D", ...drop]);
            ml.home.host.run(["iptables", "-w", "-t", "raw", "-I", drop[0], "1", ...drop.slice(1)]);
        },
        restore: (ml) => ml.home.host.run([EGRESS_SCRIPT, "reapply"], { timeoutMs: 60_000 }),
    },
];

/** One command a check ran on a host (as root: the doctor's `sudo -n` is not part of it) and what it printed. */
export interface RecordedCommand {
    readonly host: HostRole;
    readonly argv: readonly string[];
    readonly status: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** One result of an inside check as the recordings keep it. */
export type InsideResult = Pick<Result, "id" | "status" | "detail" | "fix" | "dependsOn">;

/**
 * Every "inside" check of the doctor, with `ssh` as the host runner (the lab's hosts when
 * recording, the recorded outputs when replaying) and the lab's MX as the egress probe.
 */
export async function insideResults(model: Model, ssh: SshRunner): Promise<InsideResult[]> {
    const ctx = offlineContext(model, { ssh });
    const results = await runChecks(allChecks(ctx, { egressProbe: REMOTE_MX_HOST }), { only: ["inside"], skip: [] }, ctx, { hasOutputs: true });
    return results.map(({ id, status, detail, fix, dependsOn }) => ({ id, status, detail, ...(fix ? { fix } : {}), ...(dependsOn ? { dependsOn } : {}) }));
}
