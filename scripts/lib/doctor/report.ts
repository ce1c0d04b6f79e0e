/** The doctor's report: a table grouped by area (fails first), a summary line, JSON, the exit code. */
import { AREAS, Result, Status } from "./check";

const RANK: Record<Status, number> = { fail: 0, warn: 1, skipped: 2, ok: 3 };
const LABEL: Record<Status, string> = { fail: "FAIL", warn: "warn", skipped: "skip", ok: "ok" };

export interface Summary {
    readonly checks: number;
    readonly ok: number;
    readonly warn: number;
    readonly fail: number;
    readonly skipped: number;
}

export function summarize(results: readonly Result[]): Summary {
    const count = (s: Status) => results.filter((r) => r.status === s).length;
    return { checks: results.length, ok: count("ok"), warn: count("warn"), fail: count("fail"), skipped: count("skipped") };
}

/** 0: nothing failed; 1: something failed (usage and config errors exit 2 before any check runs). */
export function exitCode(results: readonly Result[]): 0 | 1 {
    return results.some((r) => r.status === "fail") ? 1 : 0;
}

export function summaryLine(s: Summary, seconds: number): string {
    return `${s.checks} checks: ${s.fail} fail, ${s.warn} warn, ${s.skipped} skipped, ${s.ok} ok (${seconds.toFixed(1)} s)`;
}

/**
 * Areas with a fail first, then those with a warn, then the rest in their usual order (an area
 * whose checks were all skipped, as drift without a Pulumi CLI, needs no attention first); checks
 * inside an area by status, stable.
 */
export function grouped(results: readonly Result[]): { area: string; rows: Result[] }[] {
    const worst = (rows: readonly Result[]) => Math.min(RANK.skipped, ...rows.map((r) => RANK[r.status]));
    const groups = AREAS.map((area) => ({ area, rows: results.filter((r) => r.area === area) })).filter((g) => g.rows.length > 0);
    for (const g of groups) g.rows = g.rows.map((r, i) => [r, i] as const).sort(([a, i], [b, j]) => RANK[a.status] - RANK[b.status] || i - j).map(([r]) => r);
    return groups.map((g, i) => [g, i] as const).sort(([a, i], [b, j]) => worst(a.rows) - worst(b.rows) || i - j).map(([g]) => g);
}

export function formatTable(stack: string, results: readonly Result[], seconds: number): string {
    const width = Math.max(0, ...results.map((r) => r.id.length));
    const lines = [`homemail doctor, stack ${stack}`];
    for (const g of grouped(results)) {
        lines.push("", `== ${g.area} ==`);
        for (const r of g.rows) {
            lines.push(`${LABEL[r.status].padEnd(4)}  ${r.id.padEnd(width)}  ${r.status === "skipped" ? `skipped: ${r.detail}` : r.detail}`);
            if (r.fix) lines.push(`${" ".repeat(6 + width)}  fix: ${r.fix}`);
        }
    }
    lines.push("", summaryLine(summarize(results), seconds));
    return `${lines.join("\n")}\n`;
}

export function formatJson(stack: string, results: readonly Result[], seconds: number): string {
    return `${JSON.stringify({ stack, summary: summarize(results), seconds: Number(seconds.toFixed(3)), checks: results }, null, 2)}\n`;
}
