/**
 * What a change does to a stack: two renders (before, after) -> host files, DNS records, resources and
 * stack outputs that were added, changed or removed. Pure and deterministic: the same two snapshots
 * give the same result whatever order their entries come in.
 */
import { createTwoFilesPatch, OMIT_HEADERS } from "diff";
import type { RenderDocument } from "./renderDocuments";
import type { DnsRecordOut } from "./zoneFile";
import type { HostFileSnapshot, RenderTree, ResourceSnapshot, StepSnapshot } from "./renderTree";
import { FieldChange, fieldChanges, leaves, sameValue } from "./valueDiff";
import { stableJson } from "./writeOut";

export type ChangeKind = "added" | "changed" | "removed";
export const CHANGE_KINDS: readonly ChangeKind[] = ["added", "changed", "removed"];

export interface FileChange {
    readonly kind: ChangeKind;
    readonly host: string;
    readonly path: string;
    readonly before?: Omit<HostFileSnapshot, "content">;
    readonly after?: Omit<HostFileSnapshot, "content">;
    /** mode / owner / secret changes. */
    readonly metadata: readonly FieldChange[];
    /** Unified diff of the content (hunks only, no file header); absent for secret files and removals. */
    readonly patch?: string;
    /** True when the file is secret on either side: its content is never compared or shown. */
    readonly secret: boolean;
}

export interface RecordChange {
    readonly kind: ChangeKind;
    readonly zone: string;
    readonly name: string;
    readonly type: string;
    readonly before?: DnsRecordOut;
    readonly after?: DnsRecordOut;
    /** For "changed": the fields that differ. */
    readonly fields: readonly FieldChange[];
}

/** A resource field; a value that is a host file's whole content names that file (its diff is in `files`). */
export interface ResourceFieldChange extends FieldChange {
    readonly beforeFile?: string;
    readonly afterFile?: string;
}

export interface ResourceChange {
    readonly kind: ChangeKind;
    readonly urn: string;
    readonly type: string;
    /** For "changed": inputs/options/parent fields that differ; for "added": every field; empty for "removed". */
    readonly fields: readonly ResourceFieldChange[];
}

/** A remote step that was added, removed, or whose strategy, re-run inputs, undo or order changed. */
export interface StepChange {
    readonly kind: ChangeKind;
    readonly host: string;
    readonly name: string;
    readonly before?: StepSnapshot;
    readonly after?: StepSnapshot;
    /** For "changed": the fields that differ; for "added": every field. */
    readonly fields: readonly FieldChange[];
}

/** A rendered document (mailu/import.yaml: where mail goes) that was added, changed or removed. */
export interface DocumentChange {
    readonly kind: ChangeKind;
    readonly path: string;
    /** Unified diff of the content (hunks only); an added document shows every line, a removed one none. */
    readonly patch?: string;
}

export interface OutputChange {
    readonly kind: ChangeKind;
    readonly name: string;
    readonly fields: readonly FieldChange[];
}

export interface RenderDiff {
    readonly files: readonly FileChange[];
    readonly steps: readonly StepChange[];
    readonly documents: readonly DocumentChange[];
    readonly records: readonly RecordChange[];
    readonly resources: readonly ResourceChange[];
    readonly outputs: readonly OutputChange[];
}

export function isEmptyDiff(d: RenderDiff): boolean {
    return d.files.length + d.steps.length + d.documents.length + d.records.length + d.resources.length + d.outputs.length === 0;
}

const kindRank = (k: ChangeKind) => CHANGE_KINDS.indexOf(k);
const byKindThen = <T extends { kind: ChangeKind }>(key: (x: T) => string) => (a: T, b: T) =>
    kindRank(a.kind) - kindRank(b.kind) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/** Entries of two lists matched by key: [key, before, after], sorted by key. */
function pairs<T>(before: readonly T[], after: readonly T[], key: (x: T) => string): [string, T | undefined, T | undefined][] {
    const a = new Map(before.map((x) => [key(x), x]));
    const b = new Map(after.map((x) => [key(x), x]));
    return [...new Set([...a.keys(), ...b.keys()])].sort().map((k) => [k, a.get(k), b.get(k)]);
}

const kindOf = (before: unknown, after: unknown): ChangeKind => (before === undefined ? "added" : after === undefined ? "removed" : "changed");

/** The fields of something new: every leaf, as a change from absent. */
const addedFields = (value: unknown, path = ""): FieldChange[] => leaves(value, path).map((l) => ({ path: l.path, after: l.value }));

/** Removed: nothing to list; added: every leaf; changed: the leaves that differ. */
function fieldsOf(kind: ChangeKind, before: unknown, after: unknown, path = ""): FieldChange[] {
    return kind === "removed" ? [] : kind === "added" ? addedFields(after, path) : fieldChanges(before, after, path);
}

/** Hunks of a unified diff (3 lines of context), without the ---/+++ header. */
export function unifiedHunks(before: string, after: string): string {
    return createTwoFilesPatch("a", "b", before, after, undefined, undefined, { context: 3, headerOptions: OMIT_HEADERS }).replace(/\n$/, "");
}

function compareFiles(before: readonly HostFileSnapshot[], after: readonly HostFileSnapshot[]): FileChange[] {
    const changes: FileChange[] = [];
    for (const [, b, a] of pairs(before, after, (f) => `${f.host}:${f.path}`)) {
        const meta = (f: HostFileSnapshot | undefined) => f && { host: f.host, path: f.path, mode: f.mode, owner: f.owner, secret: f.secret };
        const metadata = b && a ? fieldChanges(meta(b), meta(a)).filter((c) => c.path !== "host" && c.path !== "path") : [];
        const secret = Boolean(b?.secret || a?.secret);
        const contentChanged = !b || !a || b.content !== a.content;
        if (b && a && metadata.length === 0 && !contentChanged) continue;
        const f = (a ?? b)!;
        const patch = secret || !a || !contentChanged ? undefined : unifiedHunks(b?.content ?? "", a.content);
        changes.push({ kind: kindOf(b, a), host: f.host, path: f.path, before: meta(b), after: meta(a), metadata, patch, secret });
    }
    return changes.sort(byKindThen((c) => `${c.host}:${c.path}`));
}

function compareDocuments(before: readonly RenderDocument[], after: readonly RenderDocument[]): DocumentChange[] {
    const changes: DocumentChange[] = [];
    for (const [p, b, a] of pairs(before, after, (d) => d.path)) {
        if (b && a && b.content === a.content) continue;
        changes.push({ kind: kindOf(b, a), path: p, ...(a ? { patch: unifiedHunks(b?.content ?? "", a.content) } : {}) });
    }
    return changes.sort(byKindThen((c) => c.path));
}

const recordGroup = (r: DnsRecordOut) => `${r.zone} ${r.name} ${r.type}`;

/**
 * DNS records have no identity but their fields. Records equal on both sides are unchanged; of the
 * rest, one old and one new record of the same zone, name and type are a change; anything else is
 * an addition or a removal.
 */
function compareRecords(before: readonly DnsRecordOut[], after: readonly DnsRecordOut[]): RecordChange[] {
    const groups = new Map<string, { b: DnsRecordOut[]; a: DnsRecordOut[] }>();
    const group = (r: DnsRecordOut) => groups.get(recordGroup(r)) ?? groups.set(recordGroup(r), { b: [], a: [] }).get(recordGroup(r))!;
    for (const r of before) group(r).b.push(r);
    for (const r of after) group(r).a.push(r);
    const changes: RecordChange[] = [];
    for (const { b, a } of groups.values()) {
        const left = [...b];
        const right: DnsRecordOut[] = [];
        for (const r of a) {
            const i = left.findIndex((x) => sameValue(x, r));
            if (i >= 0) left.splice(i, 1);
            else right.push(r);
        }
        const id = (r: DnsRecordOut) => ({ zone: r.zone, name: r.name, type: r.type });
        if (left.length === 1 && right.length === 1) {
            changes.push({ kind: "changed", ...id(right[0]), before: left[0], after: right[0], fields: fieldChanges(left[0], right[0]) });
            continue;
        }
        for (const r of left) changes.push({ kind: "removed", ...id(r), before: r, fields: [] });
        for (const r of right) changes.push({ kind: "added", ...id(r), after: r, fields: [] });
    }
    return changes.sort(byKindThen((c) => `${c.zone} ${c.name} ${c.type} ${stableJson(c.after ?? c.before)}`));
}

/** Non-secret multi-line host file contents -> `host:path`, to recognise a file push's stdin. */
function fileIndex(files: readonly HostFileSnapshot[]): Map<string, string> {
    return new Map(files.filter((f) => !f.secret && f.content.includes("\n")).map((f) => [f.content, `${f.host}:${f.path}`]));
}

function compareResources(before: RenderTree, after: RenderTree): ResourceChange[] {
    const beforeFiles = fileIndex(before.files);
    const afterFiles = fileIndex(after.files);
    const fileOf = (index: Map<string, string>, v: unknown) => (typeof v === "string" ? index.get(v) : undefined);
    const changes: ResourceChange[] = [];
    const body = (r: ResourceSnapshot | undefined) => {
        if (!r) return undefined;
        const { urn: _urn, ...rest } = r;
        return rest;
    };
    for (const [urn, b, a] of pairs(before.resources, after.resources, (r) => r.urn)) {
        if (b && a && sameValue(b, a)) continue;
        const kind = kindOf(b, a);
        const fields = fieldsOf(kind, body(b), body(a)).map((f): ResourceFieldChange => {
            const beforeFile = fileOf(beforeFiles, f.before);
            const afterFile = fileOf(afterFiles, f.after);
            return { ...f, ...(beforeFile && { beforeFile }), ...(afterFile && { afterFile }) };
        });
        changes.push({ kind, urn, type: String((a ?? b)!.type ?? ""), fields });
    }
    return changes.sort(byKindThen((c) => c.urn));
}

function compareSteps(before: readonly StepSnapshot[], after: readonly StepSnapshot[]): StepChange[] {
    const changes: StepChange[] = [];
    for (const [, b, a] of pairs(before, after, (x) => `${x.host}:${x.name}`)) {
        if (b && a && sameValue(b, a)) continue;
        const kind = kindOf(b, a);
        const s = (a ?? b)!;
        const body = (x: StepSnapshot | undefined) => {
            if (!x) return undefined;
            const { host: _host, name: _name, ...rest } = x;
            return rest;
        };
        changes.push({ kind, host: s.host, name: s.name, before: b, after: a, fields: fieldsOf(kind, body(b), body(a)) });
    }
    return changes.sort(byKindThen((c) => `${c.host}:${c.name}`));
}

function compareOutputs(before: Readonly<Record<string, unknown>>, after: Readonly<Record<string, unknown>>): OutputChange[] {
    const changes: OutputChange[] = [];
    for (const name of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
        const b = before[name];
        const a = after[name];
        if (sameValue(b, a)) continue;
        const kind = kindOf(b, a);
        changes.push({ kind, name, fields: fieldsOf(kind, b, a, name) });
    }
    return changes.sort(byKindThen((c) => c.name));
}

/** Everything that differs between two renders of one stack. */
export function compareRenders(before: RenderTree, after: RenderTree): RenderDiff {
    return {
        files: compareFiles(before.files, after.files),
        // A render from before steps.json existed has no steps to compare (not: every step added).
        steps: before.steps && after.steps ? compareSteps(before.steps, after.steps) : [],
        documents: compareDocuments(before.documents ?? [], after.documents ?? []),
        records: compareRecords(before.records, after.records),
        resources: compareResources(before, after),
        outputs: compareOutputs(before.outputs, after.outputs),
    };
}
