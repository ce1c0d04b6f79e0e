/**
 * One rendered stack (`npm run render` output, `out/<stack>/`) as plain data, so that comparing two
 * renders is a pure function of two snapshots (compareRenders.ts). Reading refuses a tree whose secret
 * files carry values: a diff must never show one, whatever rendered the tree.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { MAILU_IMPORT_DOCUMENT, RenderDocument } from "./renderDocuments";
import type { FileEntry } from "./writeOut";
import { SECRET_TEXT } from "./writeOut";
import type { DnsRecordOut } from "./zoneFile";

/** A host file: its files.json entry (without the hash) and its content from the hosts/ tree. */
export interface HostFileSnapshot {
    readonly host: string;
    readonly path: string;
    readonly mode: string;
    readonly owner: string;
    readonly secret: boolean;
    /** `[secret]\n` for secret files. */
    readonly content: string;
}

/** A resources.json entry. */
export interface ResourceSnapshot {
    readonly urn: string;
    readonly [field: string]: unknown;
}

/** A steps.json entry: one remote step on a host (role, strategy, re-run inputs, undo). */
export interface StepSnapshot {
    readonly host: string;
    readonly name: string;
    readonly [field: string]: unknown;
}

export interface RenderTree {
    readonly files: readonly HostFileSnapshot[];
    /** Every host's steps (steps.json); undefined for a render made before steps.json existed. */
    readonly steps?: readonly StepSnapshot[];
    readonly records: readonly DnsRecordOut[];
    readonly resources: readonly ResourceSnapshot[];
    readonly outputs: Readonly<Record<string, unknown>>;
    /** Rendered documents (mailu/import.yaml); absent from renders made before they existed. */
    readonly documents?: readonly RenderDocument[];
}

export const EMPTY_TREE: RenderTree = { files: [], records: [], resources: [], outputs: {}, documents: [] };

/** What a redacted secret file holds. */
export const REDACTED_CONTENT = `${SECRET_TEXT}\n`;

function readJson<T>(file: string): T {
    if (!existsSync(file)) throw new Error(`${file} is missing: is this an \`npm run render\` output directory?`);
    return JSON.parse(readFileSync(file, "utf8")) as T;
}

/** Reads `out/<stack>/` as written by writeOut.ts. */
export function readRenderTree(dir: string): RenderTree {
    const entries = readJson<FileEntry[]>(path.join(dir, "files.json"));
    const files = entries.map((e): HostFileSnapshot => {
        const content = readFileSync(path.join(dir, "hosts", e.host, e.path), "utf8");
        if (e.secret && content !== REDACTED_CONTENT) {
            throw new Error(`${e.host}:${e.path} is a secret file rendered with its value (--include-secrets?); a diff never reads such a tree`);
        }
        return { host: e.host, path: e.path, mode: e.mode, owner: e.owner, secret: e.secret, content };
    });
    const stepsFile = path.join(dir, "steps.json");
    const steps = existsSync(stepsFile) ? Object.values(readJson<Record<string, StepSnapshot[]>>(stepsFile)).flat() : undefined;
    return {
        files,
        ...(steps ? { steps } : {}),
        records: readJson<DnsRecordOut[]>(path.join(dir, "dns", "records.json")),
        resources: readJson<ResourceSnapshot[]>(path.join(dir, "resources.json")),
        outputs: readJson<Record<string, unknown>>(path.join(dir, "outputs.json")),
        documents: [MAILU_IMPORT_DOCUMENT].filter((d) => existsSync(path.join(dir, d))).map((d) => ({ path: d, content: readFileSync(path.join(dir, d), "utf8") })),
    };
}
