/** Every check of the doctor, built from the model and the render's set (so "all X" means all). */
import type { Check } from "./check";
import type { DoctorContext } from "./context";
import { BlocklistOptions, blocklistChecks, DEFAULT_BLOCKLISTS } from "./checks/blocklists";
import { dnsChecks } from "./checks/dns";
import { dnssecChecks } from "./checks/dnssec";
import { driftChecks } from "./checks/drift";
import { exposureChecks } from "./checks/exposure";
import { identityChecks } from "./checks/identity";
import { gatewayChecks } from "./checks/gateway";
import { insideChecks } from "./checks/inside";
import { mailuChecks } from "./checks/mailu";
import { tlsChecks } from "./checks/tls";
import { tlsPortChecks } from "./checks/tlsPorts";
import { webChecks } from "./checks/web";
import type { RefreshPreview } from "./pulumiRefresh";

export function allChecks(ctx: Pick<DoctorContext, "model" | "render">, opts: { ca?: readonly string[]; blocklists?: BlocklistOptions; trustAnchor?: string; egressProbe?: string; stack?: string; refresh?: RefreshPreview } = {}): Check<DoctorContext>[] {
    return [...dnsChecks(ctx), ...dnssecChecks(ctx, { trustAnchor: opts.trustAnchor }), ...identityChecks(ctx), ...tlsChecks(ctx, { ca: opts.ca ?? [] }), ...tlsPortChecks(ctx, { ca: opts.ca ?? [] }), ...webChecks(ctx), ...blocklistChecks(ctx, opts.blocklists ?? DEFAULT_BLOCKLISTS), ...insideChecks(ctx), ...gatewayChecks(ctx), ...mailuChecks(ctx, { egressProbe: opts.egressProbe }), ...exposureChecks(ctx, { stack: opts.stack ?? "dev" }), ...driftChecks({ stack: opts.stack ?? "dev", refresh: opts.refresh ?? (async () => ({ kind: "no-cli" })) })];
}
