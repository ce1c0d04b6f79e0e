/**
 * The OpenPGP Web Key Directory tree (advanced method, draft-koch-openpgp-webkey-service, section
 * 3.1) from the model's publications: `.well-known/openpgpkey/<domain>/policy` (empty) for every
 * mail domain and `.well-known/openpgpkey/<domain>/hu/<hash>` (the binary key) for every published
 * address. Which key is published where, and its minimal form, were decided and validated by the
 * config layer (components/config/openpgp.ts).
 *
 * Pure: no I/O, no clock; same model, same bytes.
 */
import type { Model } from "../config/model";
import { wkdHash } from "./wkdHash";

/** One file of the public tree; `path` is relative to the document root (no leading slash). */
export interface WkdTreeFile {
    readonly path: string;
    readonly bytes: Uint8Array;
}

/** The directory of a domain's WKD files, relative to the document root. */
export function wkdDomainDir(domain: string): string {
    return `.well-known/openpgpkey/${domain}`;
}

/** Every file of the tree, sorted by path. */
export function renderWkdTree(model: Pick<Model, "domains" | "wkd">): WkdTreeFile[] {
    const domains = new Set(model.domains.map((d) => d.name));
    const files: WkdTreeFile[] = [...domains].map((d) => ({ path: `${wkdDomainDir(d)}/policy`, bytes: new Uint8Array(0) }));
    const seen = new Set<string>();
    for (const p of model.wkd.publications) {
        if (!domains.has(p.domain)) throw new Error(`renderWkdTree: ${p.address} is not in a mail domain`);
        const path = `${wkdDomainDir(p.domain)}/hu/${wkdHash(p.localPart)}`;
        if (seen.has(path)) throw new Error(`renderWkdTree: two publications for ${path}`);
        seen.add(path);
        files.push({ path, bytes: Uint8Array.from(Buffer.from(p.keyBase64, "base64")) });
    }
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
