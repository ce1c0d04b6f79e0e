/** System users that Debian's mail packages create (postfix, opendkim, ...), by name. */
import { readFileSync } from "node:fs";

/** The uid of a system user; a missing one means its package is not installed. */
export function userId(name: string): number {
    const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith(`${name}:`));
    if (!line) throw new Error(`no ${name} user: install the ${name} package (see .ci/apt-packages.txt)`);
    return Number(line.split(":")[2]);
}
