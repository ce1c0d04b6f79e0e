/**
 * A lab host's state in comparable text, for "after destroy, each host matches its state before
 * the first up" (issue 16): packet filter, policy routing, routes, sysctls, unit states and file
 * trees. Sections are compared line by line; {@link stateDiff} names what changed.
 */
import { Place } from "./index";

export interface HostStateOptions {
    /** File trees recorded by path, type, mode, owner, link target and sha256. Default {@link DEFAULT_ROOTS}. */
    readonly roots?: readonly string[];
    /** Lines (of any section) to leave out, e.g. `/^files: \/var\/lib\/docker/` (default none). */
    readonly ignore?: readonly RegExp[];
    /** sysctl names recorded, as a `sysctl -r` pattern. Default: what homemail's host scripts set. */
    readonly sysctls?: string;
}

/** Where homemail writes on a host (/etc covers units, sysctl.d, wireguard, sudoers). */
export const DEFAULT_ROOTS = ["/etc", "/opt", "/srv", "/usr/local/sbin", "/usr/local/lib/homemail", "/var/lib/homemail"];
const DEFAULT_SYSCTLS = "^net\\.ipv4\\.(ip_forward|ip_nonlocal_bind|conf\\.[^.]+\\.(rp_filter|src_valid_mark|route_localnet|forwarding))$|^net\\.ipv6\\.conf\\.[^.]+\\.forwarding$";

/** Section name -> its lines. */
export type HostState = Readonly<Record<string, readonly string[]>>;

/**
 * Drops from an iptables-save dump the tables that hold nothing: only built-in chains, each with
 * policy ACCEPT, and no rule. iptables-nft creates a table on first use and offers no way to delete
 * it again (only `nft delete table` could); such a table filters nothing, so it is the same rule set.
 * Every table that holds a rule, a user chain or a non-ACCEPT policy is compared in full.
 */
export function withoutUnusedTables(save: string): string {
    const sections = save.split(/^(?=\*)/m);
    return sections
        .filter((section) => {
            const lines = section.split("\n").filter((l) => l && !l.startsWith("*") && l !== "COMMIT");
            return !lines.every((l) => /^:\S+ ACCEPT$/.test(l));
        })
        .join("");
}

/** Reads the state of `place` (read only). */
export function hostState(place: Place, opts: HostStateOptions = {}): HostState {
    const roots = opts.roots ?? DEFAULT_ROOTS;
    const read = (script: string) => place.sh(script, { timeoutMs: 60_000 }).stdout;
    const noCounters = "grep -v '^#' | sed -E 's/ \\[[0-9]+:[0-9]+\\]$//'";
    const sections: Record<string, string> = {
        iptables: withoutUnusedTables(read(`iptables-save | ${noCounters}`)),
        ip6tables: withoutUnusedTables(read(`ip6tables-save 2>/dev/null | ${noCounters}`)),
        "ip rule": read("ip -4 rule show; ip -6 rule show"),
        // IPv6 link-local and multicast routes come and go with interfaces by themselves.
        routes: read("ip -4 route show table all; ip -6 route show table all | grep -v -E '^(local |multicast |anycast )?(fe80|ff00)::'"),
        links: read("ip -o link show | sed -E 's/^[0-9]+: //; s/ state .*//'"),
        sysctls: read(`sysctl -a -r '${opts.sysctls ?? DEFAULT_SYSCTLS}' 2>/dev/null | sort`),
        units: read("for f in /run/lab-systemd/*.active /run/lab-systemd/*.failed /run/lab-systemd/*.pid; do [ -e \"$f\" ] && basename \"$f\"; done | sort; true"),
        files: fileTree(place, roots),
    };
    const ignore = opts.ignore ?? [];
    return Object.fromEntries(
        Object.entries(sections).map(([name, text]) => [name, text.split("\n").filter((l) => l.trim() !== "" && !ignore.some((re) => re.test(`${name}: ${l}`)))]),
    );
}

/** `<path> <type> <mode> <owner> <sha256 prefix>` per file, `<path> l -> <target>` per link, sorted. */
function fileTree(place: Place, roots: readonly string[]): string {
    const existing = roots.filter((r) => place.run(["test", "-e", r], { allowFailure: true }).status === 0);
    if (!existing.length) return "";
    const entries = place.run(["find", ...existing, "-xdev", "(", "-type", "l", "-printf", "%p l -> %l\\n", ")", "-o", "(", "-printf", "%p %y %m %u:%g\\n", ")"], { timeoutMs: 60_000 }).stdout;
    const hashes = new Map<string, string>();
    const sums = place.sh(`find ${existing.map((r) => `'${r}'`).join(" ")} -xdev -type f -print0 | xargs -0 -r sha256sum`, { timeoutMs: 120_000 }).stdout;
    for (const line of sums.split("\n")) {
        const m = /^([0-9a-f]{64}) {2}(.*)$/.exec(line);
        if (m) hashes.set(m[2], m[1].slice(0, 16));
    }
    return entries
        .split("\n")
        .filter(Boolean)
        .map((l) => {
            const m = /^(.*) f \d+ \S+$/.exec(l);
            return m ? `${l} ${hashes.get(m[1]) ?? "unreadable"}` : l;
        })
        .sort()
        .join("\n");
}

/** One line per difference: `<section>: - <line>` (only before) or `<section>: + <line>` (only after). */
export function stateDiff(before: HostState, after: HostState): string[] {
    const out: string[] = [];
    for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
        const a = before[name] ?? [];
        const b = after[name] ?? [];
        const inB = new Set(b);
        const inA = new Set(a);
        for (const l of a) if (!inB.has(l)) out.push(`${name}: - ${l}`);
        for (const l of b) if (!inA.has(l)) out.push(`${name}: + ${l}`);
        // Same lines, another order (iptables rule order matters).
        if (out.every((o) => !o.startsWith(`${name}:`)) && a.join("\n") !== b.join("\n")) out.push(`${name}: order changed`);
    }
    return out;
}
