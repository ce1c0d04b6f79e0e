/**
 * Typical changes to a stack file, as edits of its YAML text that keep comments and layout: the
 * changes whose blast radius the README tabulates (`npm run blast-radius`) and the acceptance test
 * of `npm run diff` commits. Pure.
 */
import { Document, parseDocument } from "yaml";

export interface StackEdit {
    /** Short name for a table row. */
    readonly name: string;
    /** The config change, as `pulumi config` would show it. */
    readonly change: string;
    readonly apply: (doc: Document) => void;
}

const key = (k: string) => ["config", `homemail:${k}`];

/** Appends to a list in the config, creating the list if the key is not set. */
function append(doc: Document, k: string, item: unknown): void {
    if (doc.hasIn(key(k))) doc.addIn(key(k), doc.createNode(item));
    else doc.setIn(key(k), doc.createNode([item]));
}

/** Sets one field of an object-valued key (`homemail:<k>.<field>`). */
const setField = (name: string, change: string, k: string, field: string, value: unknown): StackEdit => ({
    name,
    change,
    apply: (doc) => doc.setIn([...key(k), field], value),
});

export const DMARC_POLICY = setField("DMARC policy", "homemail:dmarc.policy quarantine -> reject", "dmarc", "policy", "reject");

export const ADD_ALIAS: StackEdit = {
    name: "add an alias",
    change: "homemail:aliases += info@example.com -> user@example.com",
    apply: (doc) => append(doc, "aliases", { address: "info@example.com", destinations: ["user@example.com"] }),
};

/** After {@link ADD_ALIAS}: the same alias delivers somewhere else (only Mailu's import knows where). */
export const REDIRECT_ALIAS: StackEdit = {
    name: "redirect an alias",
    change: "homemail:aliases info@example.com -> admin@example.com (was user@example.com)",
    apply: (doc) => {
        const aliases = doc.getIn(key("aliases")) as { items: { get(k: string): unknown; set(k: string, v: unknown): void }[] } | undefined;
        const alias = aliases?.items.find((a) => a.get("address") === "info@example.com");
        if (!alias) throw new Error("REDIRECT_ALIAS: the stack has no alias info@example.com (apply ADD_ALIAS first)");
        alias.set("destinations", doc.createNode(["admin@example.com"]));
    },
};

export const ADD_USER: StackEdit = {
    name: "add a user",
    change: "homemail:users += bob@example.com",
    apply: (doc) => append(doc, "users", { address: "bob@example.com", displayName: "Bob Example" }),
};

export const ADD_ALTERNATIVE_DOMAIN: StackEdit = {
    name: "add an alternative domain",
    change: "homemail:alternativeDomains example.com: [example.net] (and its Cloudflare zone)",
    apply: (doc) => {
        doc.setIn([...key("cloudflareZones"), "example.net"], "fedcba9876543210fedcba9876543210");
        doc.setIn([...key("alternativeDomains"), "example.com"], doc.createNode(["example.net"]));
    },
};

export const TRAEFIK_VERSION = setField("change the Traefik version", "homemail:images.traefik (default) -> v3.7.17", "images", "traefik", "v3.7.17");

export const WIREGUARD_PORT = setField("change the WireGuard port", "homemail:wireguard.port 51820 -> 51821", "wireguard", "port", 51821);

/** The rows of the README's blast-radius table, in its order. */
export const BLAST_RADIUS_EDITS: readonly StackEdit[] = [DMARC_POLICY, ADD_USER, ADD_ALIAS, ADD_ALTERNATIVE_DOMAIN, TRAEFIK_VERSION, WIREGUARD_PORT];

/** The stack file's text with one edit applied. */
export function applyStackEdit(text: string, edit: StackEdit): string {
    const doc = parseDocument(text);
    edit.apply(doc);
    return doc.toString();
}
