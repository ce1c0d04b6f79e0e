/**
 * A RenderDiff as text for a terminal, or as Markdown for a pull-request comment. Pure. Markers follow
 * `pulumi preview`: `+` added, `~` changed, `-` removed. Secret files show `[secret]`, never content.
 */
import { CHANGE_KINDS, ChangeKind, FileChange, isEmptyDiff, RecordChange, RenderDiff, ResourceFieldChange, unifiedHunks } from "./compareRenders";
import type { DnsRecordOut } from "./zoneFile";
import { SECRET_TEXT } from "./writeOut";

/** What was compared with what, in the user's words. */
export interface DiffHeader {
    readonly stack: string;
    /** e.g. `main (1a2b3c4)`. */
    readonly base: string;
    /** e.g. `working tree`. */
    readonly head: string;
    /** A remark on the comparison, e.g. that the stack file is new. */
    readonly note?: string;
}

/** The markers `pulumi preview` uses. */
export const MARK: Record<ChangeKind, string> = { added: "+", changed: "~", removed: "-" };

type Group = keyof RenderDiff;
const GROUPS: readonly { key: Group; title: string }[] = [
    { key: "files", title: "Host files" },
    { key: "steps", title: "Host steps" },
    { key: "documents", title: "Mailu import" },
    { key: "records", title: "DNS records" },
    { key: "resources", title: "Resources" },
    { key: "outputs", title: "Stack outputs" },
];

const indentLines = (text: string, indent: string) => text.split("\n").map((l) => indent + l);

function scalar(v: unknown): string {
    return v === undefined ? "(absent)" : JSON.stringify(v);
}

/** One field: `path: before -> after`, or a hunk for multi-line text, or a pointer to a host file. */
function fieldLines(f: ResourceFieldChange, added: boolean, patchIndent: string): string[] {
    const isText = (v: unknown) => typeof v === "string" && v.includes("\n");
    if (f.afterFile || f.beforeFile) {
        const side = (file: string | undefined, v: unknown) => (file ? `(content of ${file})` : scalar(v));
        return [added ? `    ${f.path}: ${side(f.afterFile, f.after)}` : `    ${f.path}: ${side(f.beforeFile, f.before)} -> ${side(f.afterFile, f.after)}`];
    }
    if (isText(f.before) || isText(f.after)) {
        const text = (v: unknown) => (typeof v === "string" ? v : v === undefined ? "" : scalar(v));
        return [`    ${f.path}:`, ...indentLines(unifiedHunks(text(f.before), text(f.after)), patchIndent)];
    }
    return [added ? `    ${f.path}: ${scalar(f.after)}` : `    ${f.path}: ${scalar(f.before)} -> ${scalar(f.after)}`];
}

function fileLines(c: FileChange, patchIndent: string): string[] {
    const key = `${c.host}:${c.path}`;
    const meta = c.after ?? c.before!;
    const lines =
        c.kind === "changed"
            ? [`~ ${key}`, ...c.metadata.map((m) => `    ${m.path}: ${scalar(m.before)} -> ${scalar(m.after)}`)]
            : [`${MARK[c.kind]} ${key} (${meta.mode} ${meta.owner}${meta.secret ? ", secret" : ""})`];
    if (c.kind === "removed") return lines;
    if (c.secret) return [...lines, `    content: ${SECRET_TEXT} (secret values are never shown or compared)`];
    if (c.patch) lines.push(...indentLines(c.patch, patchIndent));
    return lines;
}

/** A record as one line: type, name, value, and TTL/proxy where not the default. */
export function describeRecord(r: DnsRecordOut): string {
    const value =
        r.type === "MX"
            ? `${r.priority ?? ""} ${r.content}`.trim()
            : r.data
              ? Object.entries(r.data)
                    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
                    .join(" ")
              : JSON.stringify(r.content);
    const extras = [r.ttl !== 1 ? `ttl ${r.ttl}` : "", r.proxied ? "proxied" : ""].filter(Boolean);
    return `${r.type} ${r.name} ${value}${extras.length ? ` (${extras.join(", ")})` : ""}`;
}

function recordLines(c: RecordChange): string[] {
    if (c.kind !== "changed") return [`${MARK[c.kind]} ${describeRecord((c.after ?? c.before)!)}`];
    return [`~ ${c.type} ${c.name}`, ...c.fields.map((f) => `    ${f.path}: ${scalar(f.before)} -> ${scalar(f.after)}`)];
}

/** The lines of one group; `patchIndent` prefixes unified-diff lines (none in Markdown, for colouring). */
function groupLines(diff: RenderDiff, group: Group, patchIndent: string): string[] {
    switch (group) {
        case "files":
            return diff.files.flatMap((c) => fileLines(c, patchIndent));
        case "steps":
            return diff.steps.flatMap((c) => [
                `${MARK[c.kind]} ${c.host}: ${c.name}${c.after ? ` (${String(c.after.strategy)}, undo ${String((c.after.undo as { kind?: string } | undefined)?.kind)})` : ""}`,
                ...(c.kind === "added" ? [] : c.fields.flatMap((f) => fieldLines(f, false, patchIndent))),
            ]);
        case "documents":
            // The import's users, aliases and destinations: where mail goes (secrets are placeholders).
            return diff.documents.flatMap((c) => [`${MARK[c.kind]} ${c.path}`, ...(c.patch ? indentLines(c.patch, patchIndent) : [])]);
        case "records":
            return diff.records.flatMap(recordLines);
        case "resources":
            return diff.resources.flatMap((c) => [
                `${MARK[c.kind]} ${c.urn}`,
                ...c.fields.flatMap((f) => fieldLines(f, c.kind === "added", patchIndent)),
            ]);
        case "outputs":
            return diff.outputs.flatMap((c) => [`${MARK[c.kind]} ${c.name}`, ...c.fields.flatMap((f) => fieldLines(f, c.kind === "added", patchIndent))]);
        default: {
            const never: never = group;
            throw new Error(`unknown group ${String(never)}`);
        }
    }
}

/** `1 added, 2 changed` for a group, or `none`. */
function counts(items: readonly { kind: ChangeKind }[]): string {
    const parts = CHANGE_KINDS.map((k) => [k, items.filter((i) => i.kind === k).length] as const)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${n} ${k}`);
    return parts.length ? parts.join(", ") : "none";
}

export function summaryLine(diff: RenderDiff): string {
    return GROUPS.map((g) => `${g.title.toLowerCase()}: ${counts(diff[g.key])}`).join("; ");
}

function noChanges(h: DiffHeader): string {
    return `No changes: stack ${h.stack} renders the same at ${h.base} and in the ${h.head}.`;
}

/** Plain text for a terminal. */
export function formatText(diff: RenderDiff, h: DiffHeader): string {
    const head = [`homemail diff, stack ${h.stack}: ${h.base} -> ${h.head}`, ...(h.note ? [h.note] : [])];
    if (isEmptyDiff(diff)) return `${[...head, noChanges(h)].join("\n")}\n`;
    const lines = [...head, summaryLine(diff)];
    for (const g of GROUPS) {
        if (diff[g.key].length === 0) continue;
        lines.push("", `== ${g.title} ==`, ...groupLines(diff, g.key, "    "));
    }
    return `${lines.join("\n")}\n`;
}

/** A code fence longer than any backtick run in the text, so content cannot close it. */
function fence(text: string): string {
    const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
    return "`".repeat(longest + 1);
}

/** GitHub refuses comments over 65536 characters; stay well below. */
export const COMMENT_LIMIT = 60000;

/** Markdown for a pull-request comment, cut at `limit` characters with a note how to see it all. */
export function formatMarkdown(diff: RenderDiff, h: DiffHeader, limit = COMMENT_LIMIT): string {
    const intro = [`### homemail offline diff: stack \`${h.stack}\``, "", `\`${h.base}\` → \`${h.head}\`${h.note ? `. ${h.note}` : ""}`, ""];
    const footer = [
        "",
        `<sub>Rendered by \`npm run diff -- --stack ${h.stack} --base <ref>\` under the Pulumi mock engine: what would change on the hosts, in DNS and in the resource graph. Secret values show as \`${SECRET_TEXT}\`.</sub>`,
    ];
    if (isEmptyDiff(diff)) return [...intro, noChanges(h), ...footer, ""].join("\n");
    const table = ["| | added | changed | removed |", "|---|--:|--:|--:|"];
    for (const g of GROUPS) table.push(`| ${g.title} | ${CHANGE_KINDS.map((k) => diff[g.key].filter((c) => c.kind === k).length).join(" | ")} |`);
    const sections = GROUPS.filter((g) => diff[g.key].length > 0).map((g) => {
        const body = groupLines(diff, g.key, "").join("\n");
        const f = fence(body);
        return ["", `<details open><summary>${g.title} (${diff[g.key].length})</summary>`, "", `${f}diff`, body, f, "", "</details>"].join("\n");
    });
    const full = [...intro, ...table, ...sections, ...footer, ""].join("\n");
    if (full.length <= limit) return full;
    const note = `\n\n**Cut at ${limit} characters.** Run \`npm run diff -- --stack ${h.stack} --base <ref>\` locally for all of it.\n`;
    // Cut whole lines, then close any open fence and <details> so the rest of the page renders.
    let cut = full.slice(0, limit - note.length - 200);
    cut = cut.slice(0, cut.lastIndexOf("\n"));
    const fences = cut.split("\n").filter((l) => /^`{3,}/.test(l)).length;
    const openFence = fences % 2 === 1 ? cut.split("\n").filter((l) => /^`{3,}/.test(l)).pop()!.replace(/diff$/, "") : "";
    const openDetails = (cut.match(/<details/g) ?? []).length - (cut.match(/<\/details>/g) ?? []).length;
    return `${cut}\n${openFence ? `${openFence}\n` : ""}${"</details>\n".repeat(openDetails)}${note}`;
}
