/**
 * Host states the "inside" checks are recorded in: each made on the lab the way it happens in life
 * and undone after, with what the user must see. The recording keeps every command the checks ran
 * and its output; the replay feeds them back, so the checks' judgement of real `wg`, `ip` and
 * `verify` outputs is unit-tested without a lab.
 */
import type { Status } from "../../scripts/lib/doctor/check";
import { EGRESS_SCRIPT, FIREWALL_SCRIPT } from "../../scripts/lib/doctor/checks/inside";
import type { HostRole } from "../../scripts/lib/doctor/ssh";
import type { MailLab } from "../e2e/lab/topology";

export interface CommandScenario {
    readonly name: string;
    /** What the user must see, by check id (every other inside check: ok, or skipped when listed). */
    readonly expect: Record<string, { status: Status; fix?: RegExp }>;
    readonly inject: (ml: MailLab) => void;
    readonly restore: (ml: MailLab) => void;
}

const nothing = () => undefined;
const tunnelBack = (ml: MailLab) => {
    ml.wireguard.up(ml.home.host); // its PostUp re-applies the egress policy
    ml.wireguard.confirmHandshake(ml.home.host, ml.vps.host, ml.model.addresses.wgHub);
};

export const COMMAND_SCENARIOS: readonly CommandScenario[] = [
    { name: "healthy", expect: {}, inject: nothing, restore: nothing },
    {
        name: "tunnel down at home",
        expect: { "inside.wg:home": { status: "fail", fix: /systemctl start wg-quick@wg0/ }, "inside.egress:home": { status: "skipped" }, "inside.fail-closed:home": { status: "skipped" } },
        inject: (ml) => ml.wireguard.down(ml.home.host),
        restore: tunnelBack,
    },
    {
        name: "egress disabled at home",
        expect: { "inside.egress:home": { status: "fail", fix: new RegExp(`${EGRESS_SCRIPT} reapply`) }, "inside.fail-closed:home": { status: "skipped" } },
        inject: (ml) => ml.home.host.run([EGRESS_SCRIPT, "disable"], { timeoutMs: 60_000 }),
        restore: (ml) => ml.home.host.run([EGRESS_SCRIPT, "enable"], { timeoutMs: 60_000 }),
    },
    {
        name: "VPS firewall disabled",
        expect: { "inside.firewall:vps": { status: "fail", fix: new RegExp(`${FIREWALL_SCRIPT} enable`) } },
        inject: (ml) => ml.vps.host.run([FIREWALL_SCRIPT, "disable"], { timeoutMs: 60_000 }),
        restore: (ml) => ml.vps.host.run([FIREWALL_SCRIPT, "enable"], { timeoutMs: 60_000 }),
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
