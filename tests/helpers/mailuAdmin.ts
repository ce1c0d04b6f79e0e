/**
 * Mailu 2024.06's admin database as its CLI changes it: `config-import` (with and without `--update`),
 * `config-export`, `user-delete [--really]`, `alias-delete`. The one model of Mailu's merge rules for
 * every test and stand-in that needs them (the fake docker of tests/fixtures/mailu, the e2e Mailu
 * stand-in, a real-run admin stand-in).
 *
 * The rules, as core/admin/mailu/schemas.py implements them (not as docs/cli.rst describes them):
 * - Sections are loaded in the order domain, user, alias. Without `--update` the whole config is
 *   cleared first (`_clear_config`) and every item is new.
 * - `_patch_many` (update mode, per section): an item `{-<primary key>: null}` asks to prune the
 *   section (delete every existing item not listed); `{-<primary key>: X}` deletes item X (an error
 *   when X does not exist); `-<key>: null` resets a column to its default (an error for another value
 *   or a column without a default); `hash_password` without `password` is an error.
 * - `_patch_item` (update mode, per item): only when the item ALREADY EXISTS are its list fields
 *   (domain.alternatives, user.forward_destination, user.manager_of, alias.destination) patched: the
 *   new value is the set of listed values plus the old ones (a union), or only the listed ones when the
 *   list holds `-prune-`; an entry `-X` removes X (an error when X is in neither). On a NEW item nothing
 *   is patched: `-prune-` and `-X` entries are stored as they are, as literal values.
 * - Fields an import does not name keep their stored value; a new item takes the column defaults
 *   (a user is `enabled`).
 * - models.py's CommaSeparatedList and the alternatives relationship store a sorted set.
 * - `user-delete` only disables the user; `user-delete --really` deletes the row (the maildir under
 *   `<dataRoot>/mail/<address>` stays: nothing in core/admin removes it). `alias-delete` deletes.
 */
import { createHash } from "node:crypto";
import { parse } from "yaml";

export type Section = "domain" | "user" | "alias";
export const SECTIONS: readonly Section[] = ["domain", "user", "alias"];
const PRIMARY: Record<Section, string> = { domain: "name", user: "email", alias: "email" };
const LIST_FIELDS: Record<Section, readonly string[]> = {
    domain: ["alternatives"],
    user: ["forward_destination", "manager_of"],
    alias: ["destination"],
};
/** Column defaults of models.py for the fields homemail and the tests touch (`-key: null` resets). */
const DEFAULTS: Record<Section, Readonly<Record<string, unknown>>> = {
    domain: { alternatives: [], max_users: -1, max_aliases: -1, max_quota_bytes: 0, signup_enabled: false },
    user: {
        enabled: true,
        global_admin: false,
        quota_bytes: 1000000000,
        displayed_name: "",
        forward_destination: [],
        manager_of: [],
        enable_imap: true,
        enable_pop: true,
        spam_enabled: true,
    },
    alias: { destination: [], wildcard: false },
};
export const PRUNE = "-prune-";

export type Row = Record<string, unknown>;
/** Mailu's rows per section, keyed by primary key. A user's password is kept as a hash only. */
export type MailuDb = Record<Section, Record<string, Row>>;

export function emptyMailu(): MailuDb {
    return { domain: {}, user: {}, alias: {} };
}

/** Mailu's `[ValidationError]`: the import is refused and nothing changes. */
export class MailuImportError extends Error {}

export interface ImportResult {
    readonly db: MailuDb;
    /** `Created`/`Modified`/`Deleted` counts per section, as config-import prints them. */
    readonly changes: Readonly<Record<string, number>>;
}

const clone = (db: MailuDb): MailuDb => JSON.parse(JSON.stringify(db)) as MailuDb;
const sortedSet = (values: readonly string[]) => [...new Set(values)].sort();
const hashOf = (plain: string) => `sha256:${createHash("sha256").update(plain).digest("hex")}`;

/** The YAML as PyYAML safe_load reads it (YAML 1.1). */
function load(yamlText: string): Record<string, unknown> {
    const doc = (parse(yamlText, { version: "1.1" }) ?? {}) as Record<string, unknown>;
    if (typeof doc !== "object" || Array.isArray(doc)) throw new MailuImportError("the import is not a mapping");
    return doc;
}

function asList(section: Section, field: string, value: unknown): string[] {
    // CommaSeparatedListField (alias.destination, user.forward_destination) also takes "a,b".
    if (typeof value === "string" && field !== "alternatives" && field !== "manager_of") {
        return value.split(",").map((s) => s.trim()).filter(Boolean);
    }
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) throw new MailuImportError(`${section}.${field}: Not a valid string or list.`);
    return [...(value as string[])];
}

/**
 * `flask mailu config-import [--update] [--dry-run] -` of `yamlText` against `db`. Returns the new
 * database (the same as `db` for a dry run) and the change counts; throws {@link MailuImportError}
 * where Mailu refuses the import.
 */
export function importConfig(db: MailuDb, yamlText: string, opts: { update: boolean; dryRun?: boolean }): ImportResult {
    const doc = load(yamlText);
    for (const key of Object.keys(doc)) if (!(SECTIONS as readonly string[]).includes(key) && key !== "relay") throw new MailuImportError(`${key}: Unknown field.`);
    const next = opts.update ? clone(db) : emptyMailu();
    const changes: Record<string, number> = {};
    const count = (action: string, section: Section) => (changes[`${action}: ${section}`] = (changes[`${action}: ${section}`] ?? 0) + 1);
    if (!opts.update) for (const s of SECTIONS) for (let i = 0; i < Object.keys(db[s]).length; i++) count("Deleted", s);

    for (const section of SECTIONS) {
        const raw = doc[section];
        if (raw === undefined) continue;
        if (!Array.isArray(raw)) throw new MailuImportError(`${section}: Invalid type.`);
        const primary = PRIMARY[section];
        const rows = next[section];
        let prune = false;
        const listed = new Set<string>();
        const toDelete: string[] = [];
        const items: Row[] = [];
        raw.forEach((input, n) => {
            const item = { ...(input as Row) };
            if ("hash_password" in item && !("password" in item)) throw new MailuImportError(`${section}.${n}.hash_password: Nothing to hash. Field "password" is missing.`);
            if (opts.update) {
                const deleteKey = `-${primary}`;
                if (deleteKey in item) {
                    if (item[deleteKey] === null) prune = true;
                    else toDelete.push(String(item[deleteKey]));
                    return;
                }
                for (const key of Object.keys(item)) {
                    if (!key.startsWith("-")) continue;
                    const column = key.slice(1);
                    if (item[key] !== null) throw new MailuImportError(`${section}.${n}.${column}: Value must be "null" when resetting to default.`);
                    if (!(column in DEFAULTS[section])) throw new MailuImportError(`${section}.${n}.${column}: Field has no default value (or is not modelled by tests/helpers/mailuAdmin.ts).`);
                    delete item[key];
                    item[column] = DEFAULTS[section][column];
                }
            }
            if (typeof item[primary] !== "string") throw new MailuImportError(`${section}.${n}.${primary}: Missing data for required field.`);
            items.push(item);
        });

        for (const key of toDelete) {
            if (!(key in rows)) throw new MailuImportError(`${section}: Item to delete not found: '${key}'.`);
            delete rows[key];
            count("Deleted", section);
        }
        for (const item of items) {
            const key = item[primary] as string;
            listed.add(key);
            const existing = rows[key];
            const row: Row = existing ? { ...existing } : { ...DEFAULTS[section], [primary]: key };
            for (const [field, value] of Object.entries(item)) {
                if (field === "hash_password") continue;
                if (field === "password") {
                    if (item.hash_password !== true) throw new MailuImportError(`${section}.${key}.password: invalid password hash '<redacted>'`);
                    row.password = hashOf(String(value));
                } else if (LIST_FIELDS[section].includes(field)) {
                    const given = asList(section, field, value);
                    if (!existing || !opts.update) {
                        row[field] = sortedSet(given);
                        continue;
                    }
                    let values: string[];
                    if (given.includes(PRUNE)) values = given.filter((v) => v !== PRUNE);
                    else values = [...given, ...((existing[field] as string[] | undefined) ?? [])];
                    const result = new Set(values);
                    for (const v of given) {
                        if (v === PRUNE || !v.startsWith("-")) continue;
                        result.delete(v);
                        if (!result.delete(v.slice(1))) throw new MailuImportError(`?.${field}: Item to delete not found: '${v.slice(1)}'.`);
                    }
                    row[field] = [...result].sort();
                } else {
                    row[field] = value;
                }
            }
            if (!existing) count("Created", section);
            else if (JSON.stringify(existing) !== JSON.stringify(row)) count("Modified", section);
            rows[key] = row;
        }
        if (prune) {
            for (const key of Object.keys(rows)) {
                if (!listed.has(key)) {
                    delete rows[key];
                    count("Deleted", section);
                }
            }
        }
    }
    return { db: opts.dryRun ? db : next, changes };
}

/** config-import's summary line ("Created: user(1) / Modified: alias(2)", or "No changes."). */
export function changesLine(changes: Readonly<Record<string, number>>): string {
    const byAction = new Map<string, string[]>();
    for (const [k, n] of Object.entries(changes).sort()) {
        const [action, section] = k.split(": ");
        byAction.set(action, [...(byAction.get(action) ?? []), `${section}(${n})`]);
    }
    if (byAction.size === 0) return "No changes.";
    return [...byAction].map(([action, what]) => `${action}: ${what.join(" ")}`).join(" / ");
}

/**
 * What `homemail-mailu import` does with the rendered YAML (assets/mailu/homemail-mailu.sh): an
 * import without the `-prune-` markers, then one with them. For stand-ins that start from the
 * rendered import rather than from the fake docker.
 */
export function importAsHomemail(db: MailuDb, yamlText: string): MailuDb {
    const plain = yamlText.replace(/\["-prune-"(, )?/g, "[");
    return importConfig(importConfig(db, plain, { update: true }).db, yamlText, { update: true }).db;
}

/** `config-export --json <section>...`: the rows of the sections asked for, secrets left out. */
export function exportConfig(db: MailuDb, sections: readonly Section[] = SECTIONS): Record<string, Row[]> {
    const out: Record<string, Row[]> = {};
    for (const s of sections) {
        out[s] = Object.keys(db[s])
            .sort()
            .map((k) => Object.fromEntries(Object.entries(db[s][k]).filter(([f]) => f !== "password")));
    }
    return out;
}

/** `user-delete EMAIL` disables the user; with `--really` the row goes (the maildir stays on disk). */
export function deleteUser(db: MailuDb, email: string, really: boolean): MailuDb {
    const next = clone(db);
    const row = next.user[email];
    if (row) {
        if (really) delete next.user[email];
        else row.enabled = false;
    }
    return next;
}

/** `alias-delete EMAIL`. */
export function deleteAlias(db: MailuDb, email: string): MailuDb {
    const next = clone(db);
    delete next.alias[email];
    return next;
}

/**
 * What mail routing sees: each enabled user's mailbox and each alias's destinations (alternative
 * domains map to their domain's mailboxes). For stand-ins that deliver mail as Mailu would.
 */
export function routing(db: MailuDb): { mailboxes: string[]; aliases: Record<string, string[]>; alternatives: Record<string, string> } {
    const alternatives: Record<string, string> = {};
    for (const [name, d] of Object.entries(db.domain)) for (const alt of (d.alternatives as string[]) ?? []) alternatives[alt] = name;
    return {
        mailboxes: Object.entries(db.user)
            .filter(([, u]) => u.enabled !== false)
            .map(([email]) => email)
            .sort(),
        aliases: Object.fromEntries(Object.entries(db.alias).map(([email, a]) => [email, [...((a.destination as string[]) ?? [])]])),
        alternatives,
    };
}
