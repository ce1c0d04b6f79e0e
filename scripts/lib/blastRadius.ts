/**
 * The blast-radius table: for each typical stack change, which host files, DNS records, resources
 * and stack outputs `npm run diff` reports. Pure formatting of diffs computed elsewhere.
 */
import type { RenderDiff } from "./compareRenders";
import { MARK } from "./formatDiff";
import type { StackEdit } from "./stackEdits";

export interface BlastRadiusRow {
    readonly edit: StackEdit;
    /** The diff, or why there is none (e.g. the render refused the edited config). */
    readonly result: RenderDiff | { readonly error: string };
}

/** Markdown-safe cell text. */
const cell = (items: string[]) => (items.length ? items.map((i) => i.replace(/\|/g, "\\|")).join("<br>") : "—");

/** The last URN segment: the resource's name, which says its role (`wg-hub-conf`). */
const resourceName = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

export function blastRadiusTable(rows: readonly BlastRadiusRow[]): string {
    const lines = ["| change | host files | DNS records | resources | stack outputs |", "|---|---|---|---|---|"];
    for (const { edit, result } of rows) {
        const change = `**${edit.name}**<br>\`${edit.change}\``;
        if ("error" in result) {
            lines.push(`| ${change} | ${cell([`render failed: ${result.error}`])} | | | |`);
            continue;
        }
        lines.push(
            `| ${change} | ${cell(result.files.map((f) => `${MARK[f.kind]} ${f.host}:${f.path}`))} | ${cell(
                result.records.map((r) => `${MARK[r.kind]} ${r.type} ${r.name}`),
            )} | ${cell(result.resources.map((r) => `${MARK[r.kind]} ${resourceName(r.urn)}`))} | ${cell(result.outputs.map((o) => `${MARK[o.kind]} ${o.name}`))} |`,
        );
    }
    return `${lines.join("\n")}\n`;
}
