/** SMTP egress through the VPS: policy-routing numbers and where the scripts keep their ledger. */
import { DEFAULTS } from "../defaults";
import type { Model } from "../model";
import { Ctx, key } from "./context";
import { hostDirectory } from "./paths";

/**
 * `egress.*`; undefined after a problem. The state directory must outlive a reboot (hostDirectory
 * refuses /run and /tmp), or `disable` could no longer undo what `enable` recorded.
 */
export function validateEgress(ctx: Ctx): Model["egress"] | undefined {
    const e = ctx.raw.egress ?? {};
    const stateDir = hostDirectory(ctx, key("egress", ".stateDir"), e.stateDir ?? DEFAULTS.egressStateDir, DEFAULTS.egressStateDir);
    if (!stateDir) return undefined;
    return {
        enabled: e.enabled ?? DEFAULTS.egressEnabled,
        fwmark: e.fwmark ?? DEFAULTS.egressFwmark,
        routeTable: e.routeTable ?? DEFAULTS.egressRouteTable,
        rulePriority: e.rulePriority ?? DEFAULTS.egressRulePriority,
        stateDir,
    };
}
