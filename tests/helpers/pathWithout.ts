/**
 * A PATH with every command of the system directories except the named ones, so a host script can
 * be run as on a machine that lacks them (e.g. no docker), whatever this machine has installed.
 */
import { mkdtempSync, readdirSync, symlinkSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const SYSTEM_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** Makes a directory of links to the system commands minus `missing`; returns it as a one-entry PATH. */
export function systemPathWithout(missing: readonly string[], parent = tmpdir()): string {
    const dir = mkdtempSync(path.join(parent, "hm-path-"));
    for (const sys of SYSTEM_DIRS) {
        if (!existsSync(sys)) continue;
        for (const name of readdirSync(sys)) {
            if (missing.includes(name) || existsSync(path.join(dir, name))) continue; // first dir wins, as in PATH
            symlinkSync(path.join(sys, name), path.join(dir, name));
        }
    }
    return dir;
}
