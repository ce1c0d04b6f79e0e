/**
 * Drift: what `pulumi refresh --preview-only` says would change in the stack's state if the
 * providers' live view were adopted (DNS records edited in Cloudflare, a resource deleted by hand).
 * pulumi-command's resources have no Read, so a refresh never sees a host change: host drift is
 * what the hosts' own `verify` commands report (the inside.* checks). A warn, not a fail: the check
 * that owns the drifted value (a DNS record, a host file) fails for it already; this one names the
 * resources. Only URNs, types, operations and property NAMES are printed, never a value.
 */
import { Check, Finding, ok, skipped, warn } from "../check";
import type { DoctorContext } from "../context";
import type { RefreshPreview } from "../pulumiRefresh";

type C = Check<DoctorContext>;

export const NO_READ_NOTE = "command resources have no Read, so host drift comes from the inside.* verify checks";

/** One resource the refresh would change. */
export interface Drifted {
    readonly op: string;
    readonly urn: string;
    readonly type: string;
    /** Output property names whose values differ (update only). */
    readonly properties: readonly string[];
}

export interface RefreshSummary {
    /** Resources the refresh looked at (the engine's count; its default providers are not in it). */
    readonly resources: number;
    readonly drifted: readonly Drifted[];
    /** The engine's own counts per operation (summaryEvent.resourceChanges). */
    readonly counts: Readonly<Record<string, number>>;
    readonly result?: string;
}

interface StepMetadata {
    op: string;
    urn: string;
    type: string;
    old?: { outputs?: Record<string, unknown> } | null;
    new?: { outputs?: Record<string, unknown> } | null;
}

const UNCHANGED = new Set(["same", "refresh", "read"]);

const changedKeys = (a: Record<string, unknown> = {}, b: Record<string, unknown> = {}) =>
    [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !k.startsWith("__") && JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();

/** Reads the engine's event log (JSON lines, as --event-log writes it) (pure: unit-tested). */
export function summarizeRefresh(eventLog: string): RefreshSummary {
    const final = new Map<string, StepMetadata>();
    let counts: Record<string, number> = {};
    let result: string | undefined;
    for (const line of eventLog.split("\n")) {
        if (!line.trim()) continue;
        const event = JSON.parse(line) as { resourcePreEvent?: { metadata: StepMetadata }; resOutputsEvent?: { metadata: StepMetadata }; summaryEvent?: { resourceChanges?: Record<string, number>; result?: string } };
        const step = event.resOutputsEvent?.metadata ?? event.resourcePreEvent?.metadata;
        // The outputs event is the outcome; a pre event only stands in until it comes.
        if (step && (event.resOutputsEvent || !final.has(step.urn))) final.set(step.urn, step);
        if (event.summaryEvent) {
            counts = event.summaryEvent.resourceChanges ?? {};
            result = event.summaryEvent.result;
        }
    }
    const drifted = [...final.values()]
        .filter((s) => !UNCHANGED.has(s.op))
        .map((s) => ({ op: s.op, urn: s.urn, type: s.type, properties: s.op === "update" ? changedKeys(s.old?.outputs ?? {}, s.new?.outputs ?? {}) : [] }));
    const counted = Object.values(counts).reduce((a, b) => a + b, 0);
    return { resources: counted || final.size, drifted, counts, ...(result ? { result } : {}) };
}

/** `urn:pulumi:stack::project::type::name` -> name. */
const resourceName = (urn: string) => urn.split("::").pop() ?? urn;

/** Judges a refresh preview (pure: unit-tested on recorded CLI output). */
export function refreshFinding(stack: string, s: RefreshSummary): Finding {
    const changes = Object.entries(s.counts).filter(([op]) => !UNCHANGED.has(op) && s.counts[op] > 0);
    if (s.drifted.length === 0 && changes.length === 0) return ok(`pulumi refresh --preview-only: ${s.resources} resources, nothing would change (${NO_READ_NOTE})`);
    const listed = s.drifted.map((d) => `${d.op} ${d.type} ${resourceName(d.urn)}${d.properties.length ? ` (${d.properties.join(", ")})` : ""}`);
    const count = changes.map(([op, n]) => `${n} to ${op}`).join(", ") || `${s.drifted.length} to change`;
    return warn(
        `pulumi refresh --preview-only: ${count}: ${listed.join("; ") || "see the diff"} (${NO_READ_NOTE})`,
        `see what changed: \`pulumi refresh --preview-only --diff --stack ${stack}\`; then put the program's values back with \`pulumi up --stack ${stack}\` (or adopt the live ones with \`pulumi refresh --stack ${stack}\`)`,
    );
}

export function driftChecks(opts: { stack: string; refresh: RefreshPreview }): C[] {
    return [
        {
            id: "drift.refresh",
            area: "drift",
            title: "the providers' live view matches the stack's state (pulumi refresh --preview-only)",
            run: async () => {
                const r = await opts.refresh(opts.stack);
                if (r.kind === "no-cli") return skipped(`no Pulumi CLI on PATH (${NO_READ_NOTE})`);
                if (r.kind === "failed") {
                    return warn(
                        `\`pulumi refresh --preview-only --stack ${opts.stack}\` failed (exit ${r.status}): ${r.message}`,
                        `run \`pulumi refresh --preview-only --stack ${opts.stack}\` in the project and fix what it reports (\`pulumi login\`, \`pulumi stack select ${opts.stack}\`, provider credentials)`,
                    );
                }
                return refreshFinding(opts.stack, summarizeRefresh(r.events));
            },
        },
    ];
}
