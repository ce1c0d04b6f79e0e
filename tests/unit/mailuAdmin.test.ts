/**
 * The Mailu admin model (tests/helpers/mailuAdmin.ts) against the rules of Mailu 2024.06's
 * core/admin/mailu/schemas.py, which the fake docker and the e2e stand-in rely on.
 */
import { renderMailuImport } from "../../components/render/mailu";
import { deleteUser, emptyMailu, importAsHomemail, importConfig, MailuImportError, routing } from "../helpers/mailuAdmin";
import { devModel } from "../helpers/stack";

const alias = (destination: string) => `alias:\n  - email: "team@example.com"\n    destination: ${destination}\n`;
const domain = (alternatives: string) => `domain:\n  - name: "example.com"\n    alternatives: ${alternatives}\n`;

describe("Mailu's config-import merge rules", () => {
    it("on a first import (every item new) stores the -prune- marker as a literal value", () => {
        const { db } = importConfig(emptyMailu(), alias('["-prune-", "a@example.com"]') + domain('["-prune-", "example.net"]'), { update: true });
        expect(db.alias["team@example.com"].destination).toEqual(["-prune-", "a@example.com"]);
        expect(db.domain["example.com"].alternatives).toEqual(["-prune-", "example.net"]);
    });

    it("on an existing item, joins a list with what Mailu has (a union) unless it holds -prune-", () => {
        const first = importConfig(emptyMailu(), alias('["a@example.com", "b@example.com"]'), { update: true }).db;
        const union = importConfig(first, alias('["a@example.com"]'), { update: true }).db;
        expect(union.alias["team@example.com"].destination).toEqual(["a@example.com", "b@example.com"]);
        const pruned = importConfig(first, alias('["-prune-", "a@example.com"]'), { update: true }).db;
        expect(pruned.alias["team@example.com"].destination).toEqual(["a@example.com"]);
        const emptied = importConfig(importConfig(emptyMailu(), domain('["example.net"]'), { update: true }).db, domain('["-prune-"]'), { update: true }).db;
        expect(emptied.domain["example.com"].alternatives).toEqual([]);
    });

    it("removes an entry named -X from an existing list, and refuses one that is not there", () => {
        const first = importConfig(emptyMailu(), alias('["a@example.com", "b@example.com"]'), { update: true }).db;
        expect(importConfig(first, alias('["-b@example.com"]'), { update: true }).db.alias["team@example.com"].destination).toEqual(["a@example.com"]);
        expect(() => importConfig(first, alias('["-c@example.com"]'), { update: true })).toThrow(MailuImportError);
    });

    it("keeps fields the import does not name, and items it does not list; a dry run changes nothing", () => {
        const first = importConfig(emptyMailu(), 'user:\n  - email: "u@example.com"\n    password: "x"\n    hash_password: true\n    displayed_name: "U"\n' + alias('["a@example.com"]'), { update: true }).db;
        const next = importConfig(first, 'user:\n  - email: "u@example.com"\n    password: "x"\n    hash_password: true\n', { update: true });
        expect(next.db.user["u@example.com"].displayed_name).toBe("U");
        expect(next.db.alias["team@example.com"]).toBeDefined();
        expect(next.changes).toEqual({});
        const dry = importConfig(first, alias('["-prune-", "z@example.com"]'), { update: true, dryRun: true });
        expect(dry.db).toBe(first);
        expect(dry.changes).toEqual({ "Modified: alias": 1 });
    });

    it("prunes a whole section only when asked with {-email: null}", () => {
        const first = importConfig(emptyMailu(), alias('["a@example.com"]'), { update: true }).db;
        const pruned = importConfig(first, 'alias:\n  - "-email": null\n  - email: "other@example.com"\n    destination: ["a@example.com"]\n', { update: true }).db;
        expect(Object.keys(pruned.alias)).toEqual(["other@example.com"]);
    });

    it("without --update replaces the whole config", () => {
        const first = importConfig(emptyMailu(), alias('["a@example.com"]'), { update: true }).db;
        expect(importConfig(first, domain("[]"), { update: false }).db.alias).toEqual({});
    });
});

describe("user-delete", () => {
    const db = importConfig(emptyMailu(), 'user:\n  - email: "u@example.com"\n    password: "x"\n    hash_password: true\n', { update: true }).db;

    it("without --really only disables the user: it stays, receiving no mail", () => {
        const after = deleteUser(db, "u@example.com", false);
        expect(after.user["u@example.com"].enabled).toBe(false);
        expect(routing(after).mailboxes).toEqual([]);
    });

    it("with --really deletes the row", () => {
        expect(deleteUser(db, "u@example.com", true).user).toEqual({});
    });
});

describe("the rendered import, applied as homemail-mailu applies it (what the e2e stand-in delivers to)", () => {
    const model = devModel();
    const yaml = renderMailuImport(model).content;

    it("gives Mailu exactly the config's mailboxes and aliases on the first deploy and after a redirect", () => {
        const expected = Object.fromEntries(model.aliases.map((a) => [a.address, [...a.destinations].sort()]));
        const first = importAsHomemail(emptyMailu(), yaml);
        expect(routing(first).mailboxes).toEqual(model.users.map((u) => u.address).sort());
        expect(routing(first).aliases).toEqual(expected);
        const redirected = importAsHomemail(first, yaml.replace('destination: ["-prune-", "admin@example.com"]', 'destination: ["-prune-", "user@example.com"]'));
        const changed = Object.entries(routing(redirected).aliases).filter(([a, d]) => JSON.stringify(d) !== JSON.stringify(expected[a]));
        expect(changed).toEqual([["abuse@example.com", ["user@example.com"]]]);
    });
});
