/** Every check of the doctor, built from the model and the render's set (so "all X" means all). */
import type { Check } from "./check";
import type { DoctorContext } from "./context";
import { dnsChecks } from "./checks/dns";
import { identityChecks } from "./checks/identity";
import { insideChecks } from "./checks/inside";
import { tlsChecks } from "./checks/tls";
import { webChecks } from "./checks/web";

export function allChecks(ctx: Pick<DoctorContext, "model" | "render">, opts: { ca: readonly string[] } = { ca: [] }): Check<DoctorContext>[] {
    return [...dnsChecks(ctx), ...identityChecks(ctx), ...tlsChecks(ctx, opts), ...webChecks(ctx), ...insideChecks(ctx)];
}
