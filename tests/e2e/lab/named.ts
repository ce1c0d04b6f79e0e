/**
 * The lab's DNS: bind9's named, authoritative only, serving the rendered zone files (what
 * Cloudflare would serve) and the zones the lab adds for the rest of its Internet. Every lab host
 * uses it as its resolver (named answers queries for its own zones even with recursion off).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Place, waitFor } from "../../lab/harness";
import { spawnLogged } from "./logged";

export interface ZoneText {
    /** Zone name, no trailing dot. */
    readonly name: string;
    /** Zone file content. */
    readonly text: string;
}

/** Starts named on `address` with the zones; returns once every zone answers its SOA. */
export function startNamed(place: Place, dir: string, address: string, zones: readonly ZoneText[]): void {
    mkdirSync(dir, { recursive: true });
    const conf = [
        "options {",
        `    directory "${dir}";`,
        `    pid-file "${path.join(dir, "named.pid")}";`,
        `    listen-on { ${address}; };`,
        "    listen-on-v6 { none; };",
        "    recursion no;",
        "    dnssec-validation no;",
        "};",
        ...zones.map((z) => `zone "${z.name}" { type primary; file "${z.name}.zone"; };`),
        "",
    ];
    for (const z of zones) writeFileSync(path.join(dir, `${z.name}.zone`), z.text);
    writeFileSync(path.join(dir, "named.conf"), conf.join("\n"));
    // -g: foreground, logs to stderr, no setuid (its files are in the lab's root-owned directory).
    const named = spawnLogged(place, ["named", "-g", "-c", path.join(dir, "named.conf")], path.join(dir, "named.log"));
    for (const z of zones) {
        const answers = () => place.run(["dig", "+short", "+time=1", "+tries=1", `@${address}`, z.name, "SOA"], { allowFailure: true }).stdout.trim() !== "";
        try {
            waitFor(answers, 10_000, "");
        } catch {
            throw new Error(`named does not serve ${z.name} after 10 s\n--- named\n${named.log()}`);
        }
    }
}
