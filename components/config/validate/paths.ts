/**
 * Host directories from config (`mailu.dataRoot`, `egress.stateDir`,
 * `gateway.existingTraefikDynamicDir`): normalised first, then checked, so `//tmp/x`, `/./run/x`
 * or `/.` cannot pass as something else. Root replays ledgers and chowns data under these paths.
 */
import * as path from "node:path";
import type { Ctx } from "./context";

const ABS_PATH = /^\/[A-Za-z0-9._/@-]*$/;
/** Emptied at reboot (tmpfs) or not a place for data at all. */
const VOLATILE = /^\/(run|var\/run|tmp|dev|proc|sys)(\/|$)/;

/** `path.posix.normalize` without a trailing slash: `//tmp/x` -> `/tmp/x`, `/.` -> `/`. */
export function normalDirectory(value: string): string {
    return path.posix.normalize(value).replace(/\/+$/, "") || "/";
}

/**
 * The normalised directory, or undefined after a problem: absolute, no spaces or "..", written in
 * its normal form (no `//`, `/./` or trailing slash), below a top-level directory (never `/`,
 * `/etc`, `/var`, `/usr`, ... themselves), on persistent storage.
 */
export function hostDirectory(ctx: Ctx, where: string, value: string, example: string): string | undefined {
    if (!ABS_PATH.test(value) || value.split("/").includes("..")) {
        ctx.problems.add(where, `"${value}" is not an absolute path without spaces or ".."`, `use an absolute path such as ${example}`);
        return undefined;
    }
    const normal = normalDirectory(value);
    if (normal.split("/").length < 3) {
        ctx.problems.add(where, `"${value}" is ${normal === "/" ? "the root directory" : `the system directory ${normal}`}; homemail would write into (and replay records as root over) it`, `use a directory of its own below it, such as ${example}`);
        return undefined;
    }
    if (VOLATILE.test(normal)) {
        ctx.problems.add(where, `"${value}" is emptied at reboot or is not storage (${normal.split("/")[1]}); what is kept there would be lost`, `use a directory on disk, e.g. ${example}`);
        return undefined;
    }
    if (normal !== value) {
        ctx.problems.add(where, `"${value}" is not in normal form (no trailing slash, "//" or "/./")`, `write it as ${normal}`);
        return undefined;
    }
    return normal;
}
