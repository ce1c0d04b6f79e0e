import { renderWkdTree, uidMailbox, WkdKeyError, WkdTreeInput, WkdUserInput } from "../../components/render/wkd";
import { wkdHash } from "../../components/render/wkdHash";
import { armor, enums } from "openpgp";
import { BOB_KEY, STRANGER_KEY, USER_KEY, freshKey, publicArmored, readBinary, withRevokedUid } from "../helpers/openpgp";

const user = (i: number, address: string, armoredKey?: string): WkdUserInput => ({
    address,
    keyConfigKey: `homemail:users[${i}].openpgpPublicKey`,
    armoredKey,
});
const BOTH = ["example.com", "example.org"];
const concat = (x: Uint8Array, y: Uint8Array) => Uint8Array.from([...x, ...y]);

/** Runs the renderer expecting a WkdKeyError; returns its message lines. */
async function problems(input: WkdTreeInput): Promise<string[]> {
    const err = await renderWkdTree(input).then(
        () => undefined,
        (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WkdKeyError);
    return (err as Error).message.split("\n");
}

describe("uidMailbox", () => {
    it("takes the address in angle brackets or a bare address, ASCII lower-cased", () => {
        expect(uidMailbox("Bob Example (c) <Bob@Example.ORG>")).toBe("bob@example.org");
        expect(uidMailbox("bob@example.com")).toBe("bob@example.com");
        expect(uidMailbox("Bob Example")).toBeUndefined();
        expect(uidMailbox("Bob <broken")).toBeUndefined();
        expect(uidMailbox("<not an address>")).toBeUndefined();
        expect(uidMailbox("x <a@localhost>")).toBeUndefined();
    });
});

describe("renderWkdTree", () => {
    it("writes an empty policy for every domain and the user's key under hu/<hash>", async () => {
        const tree = await renderWkdTree({ domains: BOTH, users: [user(0, "user@example.com", USER_KEY())] });
        expect(tree.files.map((f) => f.path)).toEqual([
            ".well-known/openpgpkey/example.com/hu/" + wkdHash("user"),
            ".well-known/openpgpkey/example.com/policy",
            ".well-known/openpgpkey/example.org/policy",
        ]);
        expect(tree.files.filter((f) => f.path.endsWith("/policy")).every((f) => f.bytes.length === 0)).toBe(true);
        const [pub] = tree.publications;
        expect(pub).toMatchObject({ address: "user@example.com", domain: "example.com", localPart: "user", configKey: "homemail:users[0].openpgpPublicKey" });
        expect(pub.fingerprint).toMatch(/^[0-9A-F]{40}$/);
        const key = await readBinary(pub.bytes);
        expect(key.getFingerprint().toUpperCase()).toBe(pub.fingerprint);
        expect(key.getUserIDs()).toEqual(["Example User (homemail test-only key) <user@example.com>"]);
        expect(key.subkeys).toHaveLength(1);
    });

    it("serves one key in every mail domain it names, one user ID each, without certifications by others", async () => {
        const tree = await renderWkdTree({ domains: BOTH, users: [user(0, "bob@example.com", BOB_KEY())] });
        expect(tree.publications.map((p) => p.address)).toEqual(["bob@example.com", "bob@example.org"]);
        const fpr = new Set(tree.publications.map((p) => p.fingerprint));
        expect(fpr.size).toBe(1);
        for (const p of tree.publications) {
            const key = await readBinary(p.bytes);
            expect(key.users).toHaveLength(1);
            expect(uidMailbox(key.users[0].userID!.userID)).toBe(p.address);
            expect(key.users[0].otherCertifications).toHaveLength(0); // the certification on bob@example.com is stripped
            expect(key.users[0].selfCertifications).toHaveLength(1);
            expect(key.subkeys).toHaveLength(1);
            // Nothing of the other user IDs leaks into the published bytes.
            expect(Buffer.from(p.bytes).includes("private.invalid")).toBe(false);
        }
        expect(tree.publications.find((p) => p.domain === "example.org")!.userIds).toEqual([
            "Bob Example (homemail test-only) <Bob@Example.ORG>",
        ]);
    });

    it("publishes only in this deployment's domains", async () => {
        const tree = await renderWkdTree({ domains: ["example.com"], users: [user(0, "bob@example.com", BOB_KEY())] });
        expect(tree.publications.map((p) => p.address)).toEqual(["bob@example.com"]);
        expect(tree.files.some((f) => f.path.includes("example.org") || f.path.includes("private.invalid"))).toBe(false);
    });

    it("is deterministic and independent of input order", async () => {
        const users = [user(0, "user@example.com", USER_KEY()), user(1, "bob@example.com", BOB_KEY()), user(2, "nokey@example.com")];
        const a = await renderWkdTree({ domains: BOTH, users });
        const b = await renderWkdTree({ domains: [...BOTH].reverse(), users: [...users].reverse() });
        const c = await renderWkdTree({ domains: BOTH, users });
        const dump = (t: typeof a) => t.files.map((f) => `${f.path} ${Buffer.from(f.bytes).toString("hex")}`);
        expect(dump(b)).toEqual(dump(a));
        expect(dump(c)).toEqual(dump(a));
    });

    it("refuses a key without a user ID for the user's address, naming the config key", async () => {
        const lines = await problems({ domains: BOTH, users: [user(0, "user@example.com", USER_KEY()), user(1, "bob@example.com", STRANGER_KEY())] });
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^homemail:users\[1\]\.openpgpPublicKey: the key [0-9A-F]{40} has no user ID for bob@example\.com \(its user IDs are for stranger@unrelated\.invalid\)\. Fix: .*gpg --quick-add-uid/);
    });

    it("refuses an unparsable key in one line, naming the config key", async () => {
        for (const junk of ["not a key", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"]) {
            const lines = await problems({ domains: BOTH, users: [user(3, "user@example.com", junk)] });
            expect(lines).toHaveLength(1);
            expect(lines[0]).toMatch(/^homemail:users\[3\]\.openpgpPublicKey: is not an armored OpenPGP public key \(openpgp: .+\)\. Fix: paste the output of 'gpg --armor --export user@example\.com'$/);
        }
    });

    it("refuses a private key without echoing it", async () => {
        const priv = await freshKey("user@example.com");
        const armored = priv.armor();
        const lines = await problems({ domains: BOTH, users: [user(0, "user@example.com", armored)] });
        expect(lines[0]).toMatch(/^homemail:users\[0\]\.openpgpPublicKey: is a PRIVATE key/);
        const body = armored.split("\n").filter((l) => l.length > 40)[0];
        expect(lines.join("\n")).not.toContain(body);
    });

    it("refuses several keys, in one armored block or in several", async () => {
        const twoBlocks = await problems({ domains: BOTH, users: [user(0, "user@example.com", USER_KEY() + BOB_KEY())] });
        expect(twoBlocks[0]).toMatch(/^homemail:users\[0\]\.openpgpPublicKey: holds 2 armored blocks/);
        const a = await freshKey("user@example.com");
        const b = await freshKey("user@example.com");
        const oneBlock = armor(enums.armor.publicKey, concat(a.toPublic().write(), b.toPublic().write()));
        const lines = await problems({ domains: BOTH, users: [user(0, "user@example.com", oneBlock)] });
        expect(lines[0]).toMatch(/^homemail:users\[0\]\.openpgpPublicKey: holds 2 keys \([0-9A-F]{40}, [0-9A-F]{40}\)/);
    });

    it("refuses a key whose user ID for the address is revoked, and never publishes a revoked user ID", async () => {
        const k = await freshKey("carol@example.com", "carol@example.org");
        await withRevokedUid(k, "carol@example.com");
        const lines = await problems({ domains: BOTH, users: [user(0, "carol@example.com", publicArmored(k))] });
        expect(lines[0]).toMatch(/^homemail:users\[0\]\.openpgpPublicKey: the key [0-9A-F]{40} has a user ID for carol@example\.com but it is revoked/);

        const k2 = await freshKey("dave@example.com", "dave@example.org");
        await withRevokedUid(k2, "dave@example.org");
        const tree = await renderWkdTree({ domains: BOTH, users: [user(0, "dave@example.com", publicArmored(k2))] });
        expect(tree.publications.map((p) => p.address)).toEqual(["dave@example.com"]);
    });

    it("refuses a user ID that claims another user's mailbox unless that user has the same key", async () => {
        const bobOrgWithoutKey = await problems({ domains: BOTH, users: [user(0, "bob@example.com", BOB_KEY()), user(1, "bob@example.org")] });
        expect(bobOrgWithoutKey[0]).toMatch(/^homemail:users\[0\]\.openpgpPublicKey: the key [0-9A-F]{40} has a user ID for bob@example\.org, the mailbox of homemail:users\[1\], whose openpgpPublicKey is not set\. Fix: set the same key on homemail:users\[1\]\.openpgpPublicKey/);

        const same = await renderWkdTree({ domains: BOTH, users: [user(0, "bob@example.com", BOB_KEY()), user(1, "bob@example.org", BOB_KEY())] });
        expect(same.publications.map((p) => [p.address, p.configKey])).toEqual([
            ["bob@example.com", "homemail:users[0].openpgpPublicKey"],
            ["bob@example.org", "homemail:users[1].openpgpPublicKey"],
        ]);

        const other = await freshKey("bob@example.org");
        const lines = await problems({ domains: BOTH, users: [user(0, "bob@example.com", BOB_KEY()), user(1, "bob@example.org", publicArmored(other))] });
        expect(lines[0]).toMatch(/whose openpgpPublicKey is another key \([0-9A-F]{40}\)/);
    });

    it("refuses two different keys claiming one address, and reports every problem at once", async () => {
        const a = await freshKey("anna@example.com", "info@example.com");
        const b = await freshKey("ben@example.com", "info@example.com");
        const lines = await problems({
            domains: BOTH,
            users: [user(0, "anna@example.com", publicArmored(a)), user(1, "ben@example.com", publicArmored(b)), user(2, "user@example.com", "garbage")],
        });
        expect(lines).toHaveLength(2);
        expect(lines[0]).toMatch(/^homemail:users\[2\]\.openpgpPublicKey: is not an armored/);
        expect(lines[1]).toMatch(/^homemail:users\[0\]\.openpgpPublicKey: info@example\.com is claimed by 2 different keys \([0-9A-F]{40} from homemail:users\[0\]\.openpgpPublicKey, [0-9A-F]{40} from homemail:users\[1\]\.openpgpPublicKey\)/);
    });
});
