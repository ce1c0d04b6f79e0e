/**
 * DNSSEC: the DS at each zone's parent (asked of the parent's authoritative servers) is the one the
 * stack reports (`registrarDs`, the key Cloudflare signs with), and the zone validates from a trust
 * anchor, judged by BIND's `delv` (the root's by default, `--trust-anchor FILE` for another root;
 * no hand-written crypto). A wrong DS skips the validation check: it is the cause, said once.
 */
import { spawn } from "node:child_process";
import { Check, fail, Finding, ok, skipped } from "../check";
import type { DoctorContext } from "../context";
import { serversCheckId } from "./records";

type C = Check<DoctorContext>;

interface RegistrarDs {
    readonly zone: string;
    readonly keyTag: number;
    readonly algorithm: number;
    readonly digestType: number;
    readonly digest: string;
    readonly record?: string;
}

export const dsText = (d: Pick<RegistrarDs, "keyTag" | "algorithm" | "digestType" | "digest">) => `${d.keyTag} ${d.algorithm} ${d.digestType} ${d.digest.toUpperCase()}`;

/** Judges the DS set the parent serves against the stack's (pure: unit-tested). */
export function dsFinding(zone: string, parent: string, served: readonly string[], expected: RegistrarDs): Finding {
    const want = dsText(expected);
    const record = expected.record ?? `${zone}. IN DS ${want}`;
    if (served.length === 0) return fail(`${parent} has no DS for ${zone}: resolvers treat the zone as unsigned`, `at the registrar of ${zone}, add the DS record \`${record}\` (pulumi stack output registrarDs)`);
    if (!served.includes(want)) return fail(`the DS for ${zone} at ${parent} (${served.join("; ")}) does not match the zone's key (${want}): validating resolvers reject every name in ${zone}`, `at the registrar of ${zone}, replace the DS with \`${record}\` (pulumi stack output registrarDs)`);
    const others = served.filter((d) => d !== want);
    return ok(`DS ${want.split(" ").slice(0, 3).join(" ")} at ${parent}${others.length ? ` (and ${others.length} more)` : ""}`);
}

/** Runs delv; resolves with its combined output and exit status (127 when it is not installed). */
function delv(args: readonly string[], timeoutMs: number): Promise<{ status: number; output: string }> {
    return new Promise((resolve) => {
        const child = spawn("delv", [...args], { stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs * 3);
        child.stdout.on("data", (d: Buffer) => (output += d.toString()));
        child.stderr.on("data", (d: Buffer) => (output += d.toString()));
        child.on("error", (err: NodeJS.ErrnoException) => {
            clearTimeout(timer);
            resolve({ status: err.code === "ENOENT" ? 127 : 1, output: err.message });
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ status: code ?? 1, output });
        });
    });
}

/** Judges delv's output (pure: unit-tested). */
export function delvFinding(zone: string, output: string, anchor: string): Finding {
    const fix = `check the DS at the registrar (dnssec.ds:${zone}) and that DNSSEC is on for ${zone} in Cloudflare (DNS > Settings)`;
    if (/; fully validated/.test(output)) return ok(`${zone} SOA fully validated from ${anchor}`);
    if (/; unsigned answer/.test(output)) return fail(`${zone} answers unsigned: DNSSEC is off somewhere between ${anchor} and ${zone}`, fix);
    const why = /resolution failed: (.*)/.exec(output)?.[1] ?? output.trim().split("\n").find((l) => l.startsWith(";;"))?.replace(/^;;\s*/, "") ?? (output.trim().split("\n")[0] || "no answer");
    return fail(`${zone} does not validate from ${anchor}: ${why}`, fix);
}

export function dnssecChecks(ctx: Pick<DoctorContext, "model">, opts: { trustAnchor?: string }): C[] {
    const anchor = opts.trustAnchor ? `the trust anchor in ${opts.trustAnchor}` : "the root trust anchor";
    return ctx.model.cloudflare.zones.flatMap(({ name: zone }): C[] => {
        const parent = zone.includes(".") ? zone.slice(zone.indexOf(".") + 1) : ".";
        return [
            {
                id: `dnssec.ds:${zone}`,
                area: "dnssec",
                title: `the DS of ${zone} at ${parent} matches the zone's key`,
                needs: [serversCheckId(zone)],
                needsOutputs: true,
                run: async (c) => {
                    const expected = ((c.outputs?.registrarDs ?? []) as RegistrarDs[]).find((d) => d.zone === zone);
                    if (!expected) return fail(`the stack outputs have no \`registrarDs\` entry for ${zone}`, "run `pulumi up` (it turns DNSSEC on and exports the DS), then re-run the doctor");
                    let parentZone: string;
                    let answer;
                    try {
                        parentZone = await c.dns.zoneOf(parent);
                        answer = await c.dns.queryAt(parentZone, zone, "DS");
                    } catch (err) {
                        return fail(`cannot ask ${parent}'s servers for the DS of ${zone}: ${err instanceof Error ? err.message : String(err)}`, "check the resolver finds the parent's name servers (`dig NS " + parent + "`), or give --dns-server ADDR");
                    }
                    return dsFinding(zone, parentZone, answer.records, expected);
                },
            },
            {
                id: `dnssec.validates:${zone}`,
                area: "dnssec",
                title: `${zone} validates from ${anchor}`,
                needs: [`dnssec.ds:${zone}`],
                run: async (c) => {
                    const r = await delv([...(opts.trustAnchor ? ["-a", opts.trustAnchor] : []), "+root", zone, "SOA"], c.timeoutMs);
                    if (r.status === 127) return skipped("delv is not installed (Debian: apt install bind9-dnsutils)");
                    return delvFinding(zone, r.output, anchor);
                },
            },
        ];
    });
}
