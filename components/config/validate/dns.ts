/** DNS policy: the DKIM selector, DMARC policy and alignment, MTA-STS mode and max_age. */
import { DEFAULTS } from "../defaults";
import { KEYS } from "../keys";
import type { Model } from "../model";
import { LABEL } from "../names";
import { Ctx, key } from "./context";

export function validateDnsPolicy(ctx: Ctx, reportAddress: string | undefined): Pick<Model, "dkim" | "dmarc" | "mtaSts"> | undefined {
    const { raw } = ctx;
    const selector = (raw.dkimSelector ?? DEFAULTS.dkimSelector).toLowerCase();
    if (!LABEL.test(selector)) {
        ctx.problems.add(key("dkimSelector"), `"${raw.dkimSelector}" is not a DNS label`, KEYS.dkimSelector.example);
        return undefined;
    }
    if (reportAddress === undefined) return undefined;
    const d = raw.dmarc ?? {};
    return {
        dkim: { selector },
        dmarc: {
            policy: d.policy ?? DEFAULTS.dmarcPolicy,
            subdomainPolicy: d.subdomainPolicy ?? d.policy ?? DEFAULTS.dmarcPolicy,
            reportAddress,
            dkimAlignment: d.dkimAlignment ?? DEFAULTS.dmarcAlignment,
            spfAlignment: d.spfAlignment ?? DEFAULTS.dmarcAlignment,
        },
        mtaSts: { mode: raw.mtaSts?.mode ?? DEFAULTS.mtaStsMode, maxAgeSeconds: raw.mtaSts?.maxAgeSeconds ?? DEFAULTS.mtaStsMaxAge },
    };
}
