/** Web Key Directory: the users' OpenPGP keys become minimal published keys (components/config/openpgp.ts). */
import type { MailDomain, WkdPublication } from "../model";
import { deriveWkdPublications, WkdUserInput } from "../openpgp";
import type { Ctx } from "./context";

export function validateWkd(ctx: Ctx, domains: readonly MailDomain[], users: readonly WkdUserInput[]): WkdPublication[] {
    return deriveWkdPublications({ domains: domains.map((d) => d.name), users }, ctx.problems);
}
