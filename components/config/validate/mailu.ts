/** Mailu: release, data directory, optional services, size limit. */
import { DEFAULTS } from "../defaults";
import type { Model } from "../model";
import { Ctx, key } from "./context";
import { hostDirectory } from "./paths";

const MAILU_PATCH = /^2024\.06\.\d+$/;

/** `mailu.*`; undefined after a problem. */
export function validateMailu(ctx: Ctx): Model["mailu"] | undefined {
    const m = ctx.raw.mailu ?? {};
    const version = m.version ?? DEFAULTS.mailuVersion;
    let ok = true;
    if (!MAILU_PATCH.test(version)) {
        ctx.problems.add(key("mailu", ".version"), `"${version}" is not a Mailu 2024.06 patch release (homemail renders Mailu 2024.06 settings)`, `pin a 2024.06 patch release, e.g. ${DEFAULTS.mailuVersion}`);
        ok = false;
    }
    const dataRoot = hostDirectory(ctx, key("mailu", ".dataRoot"), m.dataRoot ?? DEFAULTS.mailuDataRoot, DEFAULTS.mailuDataRoot);
    if (!ok || !dataRoot) return undefined;
    return {
        version,
        dataRoot,
        webmail: m.webmail ?? DEFAULTS.mailuWebmail,
        antivirus: m.antivirus ?? DEFAULTS.mailuAntivirus,
        webdav: m.webdav ?? DEFAULTS.mailuWebdav,
        fetchmail: m.fetchmail ?? DEFAULTS.mailuFetchmail,
        api: m.api ?? DEFAULTS.mailuApi,
        authRequireTokens: m.authRequireTokens ?? DEFAULTS.mailuAuthRequireTokens,
        pruneRemoved: m.pruneRemoved ?? DEFAULTS.mailuPruneRemoved,
        messageSizeLimit: m.messageSizeLimitBytes ?? DEFAULTS.messageSizeLimit,
    };
}
