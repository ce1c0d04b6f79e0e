/**
 * A recorded program run -> the out/<stack>/ tree (layout in ARCHITECTURE.md). Secrets show as
 * `[secret]` unless includeSecrets (labs only).
 */
import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseFileHeader } from "../../components/render/hostFile";
import { FixtureMarker, fixtureMarkers, isSecretValue, mockResourceId, plainValue as plain, ProgramRun, RecordedResource } from "./mockEngine";
import { FIXTURE_FIELD, holdsFixture, markedOutputs } from "./fixtureMarks";
import { parseTxtPresentation } from "../../components/render/dns";
import type { RenderDocument } from "./renderDocuments";
import { DnsRecordOut, renderZoneFile } from "./zoneFile";

export const SECRET_TEXT = "[secret]";
const DNS_RECORD_TYPE = "cloudflare:index/dnsRecord:DnsRecord";
const REMOTE_COMMAND_TYPE = "command:remote:Command";

export interface FileEntry {
    readonly host: string;
    readonly path: string;
    readonly mode: string;
    readonly owner: string;
    readonly secret: boolean;
    readonly sha256: string;
}

/** Deterministic JSON: sorted keys, 2-space indent, trailing newline. */
export function stableJson(value: unknown): string {
    const sort = (v: unknown): unknown =>
        Array.isArray(v)
            ? v.map(sort)
            : v && typeof v === "object"
              ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]))
              : v;
    return `${JSON.stringify(sort(value), null, 2)}\n`;
}

function redact(v: unknown, includeSecrets: boolean): unknown {
    if (isSecretValue(v)) return includeSecrets ? redact(v.value, true) : SECRET_TEXT;
    if (Array.isArray(v)) return v.map((x) => redact(x, includeSecrets));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x, includeSecrets)]));
    return v;
}


export interface OutTree {
    readonly files: { entry: FileEntry; content: string | Buffer }[];
    readonly records: DnsRecordOut[];
    readonly zones: Map<string, DnsRecordOut[]>;
}

/** The fixture values of a run: the mock engine's fixtures and the ids it gave every resource. */
export function runFixtureMarkers(run: ProgramRun): FixtureMarker[] {
    const ids = run.resources.filter((r) => r.custom).map((r): FixtureMarker => ({ text: mockResourceId(r.name), match: "equals", what: `id of ${r.name}` }));
    return [...fixtureMarkers(), ...ids];
}

/** Extracts host files and DNS records from the recorded resources. */
export function collect(run: ProgramRun, zoneNames: Record<string, string>, includeSecrets: boolean): OutTree {
    const markers = runFixtureMarkers(run);
    const files: OutTree["files"] = [];
    const records: DnsRecordOut[] = [];
    for (const r of run.resources) {
        if (r.type === REMOTE_COMMAND_TYPE) {
            const header = parseFileHeader(String(plain(r.inputs.create) ?? ""));
            if (!header) continue;
            const stdin = r.inputs.stdin;
            if (isSecretValue(stdin) !== header.secret) {
                throw new Error(`${r.name}: file ${header.path} is marked secret=${header.secret} but its content ${isSecretValue(stdin) ? "is" : "is not"} a secret`);
            }
            const text = header.secret && !includeSecrets ? `${SECRET_TEXT}\n` : String(plain(stdin) ?? "");
            // A binary file travels as base64 and lands as its bytes (the install step runs `base64 -d`).
            const content = header.encoding === "base64" && !(header.secret && !includeSecrets) ? Buffer.from(text, "base64") : text;
            const sha256 = createHash("sha256").update(content).digest("hex");
            const { encoding: _encoding, ...entry } = header;
            files.push({ entry: { ...entry, sha256 }, content });
        } else if (r.type === DNS_RECORD_TYPE) {
            const record = dnsRecord(r, zoneNames);
            // A value from a fixture (the DKIM key) is marked, never changed: zone files and verifiers use it.
            records.push(holdsFixture([record.content, record.data], markers) ? { ...record, [FIXTURE_FIELD]: true } : record);
        }
    }
    files.sort((a, b) => `${a.entry.host}${a.entry.path}`.localeCompare(`${b.entry.host}${b.entry.path}`));
    const dup = files.find((f, i) => i > 0 && f.entry.host === files[i - 1].entry.host && f.entry.path === files[i - 1].entry.path);
    if (dup) throw new Error(`two resources write ${dup.entry.host}:${dup.entry.path}`);
    records.sort((a, b) => `${a.zone} ${a.name} ${a.type} ${a.content} ${JSON.stringify(a.data)}`.localeCompare(`${b.zone} ${b.name} ${b.type} ${b.content} ${JSON.stringify(b.data)}`));
    const zones = new Map<string, DnsRecordOut[]>();
    for (const zone of Object.values(zoneNames).sort()) zones.set(zone, records.filter((r) => r.zone === zone));
    return { files, records, zones };
}

function dnsRecord(r: RecordedResource, zoneNames: Record<string, string>): DnsRecordOut {
    const i = r.inputs;
    const zoneId = String(plain(i.zoneId));
    const zone = zoneNames[zoneId];
    if (!zone) throw new Error(`${r.name}: DNS record in unknown zone id ${zoneId}`);
    const data = plain(i.data) as Record<string, unknown> | undefined;
    const type = String(plain(i.type));
    const content = String(plain(i.content));
    return {
        zone,
        name: String(plain(i.name)).replace(/\.$/, ""),
        type,
        // TXT content goes to Cloudflare in presentation form (quoted strings); records.json holds the value.
        content: i.content === undefined ? null : type === "TXT" ? (parseTxtPresentation(content) ?? content) : content,
        ttl: Number(plain(i.ttl) ?? 1),
        proxied: Boolean(plain(i.proxied) ?? false),
        priority: i.priority === undefined ? null : Number(plain(i.priority)),
        data: data ? Object.fromEntries(Object.entries(data).sort(([a], [b]) => a.localeCompare(b))) : null,
    };
}

/** One step of steps.json (components/render/hostPlan.ts StepRecord, without the host). */
export type StepEntry = Record<string, unknown> & { readonly name: string; readonly host: string };

/**
 * Per host, the ordered remote steps every component registered (its `hostSteps` output): role,
 * strategy, re-run inputs, undo. Components in URN order, each in its own run order.
 */
export function collectSteps(run: ProgramRun): Record<string, StepEntry[]> {
    const byHost: Record<string, StepEntry[]> = {};
    for (const outputs of Object.values(run.componentOutputs ?? {})) {
        const steps = redact(outputs.hostSteps, false);
        if (!Array.isArray(steps)) continue;
        for (const step of steps as StepEntry[]) (byHost[step.host] ??= []).push(step);
    }
    return Object.fromEntries(Object.keys(byHost).sort().map((h) => [h, byHost[h]]));
}

/** Wipes and writes `<outDir>/<stack>/`; `documents` (e.g. mailu/import.yaml) go to their paths under it. */
export function writeOutTree(outDir: string, stack: string, run: ProgramRun, zoneNames: Record<string, string>, includeSecrets: boolean, documents: readonly RenderDocument[] = []): string {
    const root = path.join(outDir, stack);
    rmSync(root, { recursive: true, force: true });
    mkdirSync(path.join(root, "dns"), { recursive: true });
    const tree = collect(run, zoneNames, includeSecrets);
    for (const f of tree.files) {
        const target = path.join(root, "hosts", f.entry.host, f.entry.path);
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, f.content, { mode: f.entry.secret ? 0o600 : 0o644 });
    }
    writeFileSync(path.join(root, "files.json"), stableJson(tree.files.map((f) => f.entry)));
    writeFileSync(path.join(root, "dns", "records.json"), stableJson(tree.records));
    for (const [zone, recs] of tree.zones) writeFileSync(path.join(root, "dns", `${zone}.zone`), renderZoneFile(zone, recs));
    const resources = run.resources.map((r) => ({
        urn: r.urn,
        type: r.type,
        name: r.name,
        custom: r.custom,
        parent: r.parent || null,
        inputs: redact(r.inputs, false),
        options: r.options,
    }));
    writeFileSync(path.join(root, "resources.json"), stableJson(resources));
    for (const d of documents) {
        mkdirSync(path.dirname(path.join(root, d.path)), { recursive: true });
        writeFileSync(path.join(root, d.path), d.content);
    }
    writeFileSync(path.join(root, "steps.json"), stableJson(collectSteps(run)));
    writeFileSync(path.join(root, "outputs.json"), stableJson(markedOutputs(redact(run.outputs, false) as Record<string, unknown>, runFixtureMarkers(run))));
    return root;
}
