/**
 * Runs checks in dependency order: selection (--only/--skip by area or id), "skipped: depends on",
 * "skipped: no outputs", and a probe that throws is a fail naming the error (never a crash).
 */
import { Area, AREAS, Check, Finding, Result, skipped } from "./check";

export interface Selection {
    /** Areas or check ids (a prefix before `:` matches every item: `dns.spf`). Empty = all. */
    readonly only: readonly string[];
    readonly skip: readonly string[];
}

function matches(check: { id: string; area: Area }, pattern: string): boolean {
    return pattern === check.area || pattern === check.id || check.id.split(":")[0] === pattern;
}

export function selected(check: { id: string; area: Area }, sel: Selection): boolean {
    if (sel.only.length > 0 && !sel.only.some((p) => matches(check, p))) return false;
    return !sel.skip.some((p) => matches(check, p));
}

/** Throws on a selector that matches no check (a typo must not silently run nothing). */
export function unknownSelectors(checks: readonly { id: string; area: Area }[], sel: Selection): string[] {
    return [...sel.only, ...sel.skip].filter((p) => !(AREAS as readonly string[]).includes(p) && !checks.some((c) => matches(c, p)));
}

/** Orders checks so that every check comes after those it needs; throws on an unknown id or a cycle. */
export function dependencyOrder<C>(checks: readonly Check<C>[]): Check<C>[] {
    const byId = new Map(checks.map((c) => [c.id, c]));
    if (byId.size !== checks.length) {
        const dup = checks.find((c, i) => checks.findIndex((d) => d.id === c.id) !== i);
        throw new Error(`doctor: two checks named ${dup?.id}`);
    }
    const order: Check<C>[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (c: Check<C>, path: string[]) => {
        if (state.get(c.id) === "done") return;
        if (state.get(c.id) === "visiting") throw new Error(`doctor: dependency cycle ${[...path, c.id].join(" -> ")}`);
        state.set(c.id, "visiting");
        for (const dep of [...(c.needs ?? []), ...(c.after ?? [])]) {
            const d = byId.get(dep);
            if (!d) throw new Error(`doctor: ${c.id} depends on unknown check ${dep}`);
            visit(d, [...path, c.id]);
        }
        state.set(c.id, "done");
        order.push(c);
    };
    for (const c of checks) visit(c, []);
    return order;
}

const passed = (r: Result | undefined) => r !== undefined && (r.status === "ok" || r.status === "warn");

export interface RunOptions {
    readonly hasOutputs: boolean;
    /** Called before each check runs (progress). */
    readonly onStart?: (check: { id: string; area: Area }, index: number, total: number) => void;
}

/** Runs the selected checks; returns one result per selected check, in dependency order. */
export async function runChecks<C>(checks: readonly Check<C>[], sel: Selection, ctx: C, opts: RunOptions): Promise<Result[]> {
    const order = dependencyOrder(checks);
    const chosen = order.filter((c) => selected(c, sel));
    const results = new Map<string, Result>();
    let index = 0;
    for (const c of chosen) {
        opts.onStart?.(c, index++, chosen.length);
        const started = Date.now();
        let finding: Finding;
        let dependsOn: string | undefined;
        const blockedBy = (c.needs ?? []).find((dep) => !passed(results.get(dep))) ?? (c.after ?? []).find((dep) => results.has(dep) && !passed(results.get(dep)));
        if (blockedBy !== undefined) {
            dependsOn = blockedBy;
            finding = skipped(results.has(blockedBy) ? `depends on ${blockedBy}` : `depends on ${blockedBy} (not selected)`);
        } else if (c.needsOutputs && !opts.hasOutputs) {
            finding = skipped("no outputs");
        } else {
            try {
                finding = await c.run(ctx);
            } catch (err) {
                const message = err instanceof Error ? err.message : String(err);
                finding = { status: "fail", detail: `the check itself failed: ${message.split("\n")[0]}`, fix: "re-run with the same arguments; if it persists, report it with the --json output" };
            }
        }
        results.set(c.id, { id: c.id, area: c.area, title: c.title, ...finding, ...(dependsOn ? { dependsOn } : {}), ms: Date.now() - started });
    }
    return chosen.map((c) => results.get(c.id)!);
}
