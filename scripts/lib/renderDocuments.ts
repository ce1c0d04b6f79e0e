/**
 * Documents of the offline render that are not host files but show what the deployment does:
 * `mailu/import.yaml`, the Mailu config-import (domains, users, aliases and their destinations,
 * display names, quotas) with every password and DKIM key as a placeholder. The import itself travels
 * only as a secret stdin, so without this file `npm run diff` could not show where mail goes.
 */
import { parseModel } from "../../components/config";
import type { ConfigInput } from "../../components/config";
import { sha256 } from "../../components/render/hostFile";
import { renderMailuImport } from "../../components/render/mailu";
import type { ProgramRun } from "./mockEngine";

/** A rendered document: its path under `out/<stack>/` and its text. */
export interface RenderDocument {
    readonly path: string;
    readonly content: string;
}

/** Where the placeholder import YAML goes under `out/<stack>/`. */
export const MAILU_IMPORT_DOCUMENT = "mailu/import.yaml";

/**
 * The import YAML the run's Mailu import step sends, with placeholders for its secrets. Refuses to
 * write one the program did not send: the step's inputs carry the sha256 of exactly this text.
 */
export function renderDocuments(input: ConfigInput, run: ProgramRun): RenderDocument[] {
    const content = renderMailuImport(parseModel(input)).content;
    const hash = sha256(content);
    if (!run.resources.some((r) => JSON.stringify(r.inputs).includes(hash))) {
        throw new Error(`${MAILU_IMPORT_DOCUMENT}: no resource of the run carries its sha256 (${hash}); the Mailu import step must send exactly this YAML`);
    }
    return [{ path: MAILU_IMPORT_DOCUMENT, content }];
}
