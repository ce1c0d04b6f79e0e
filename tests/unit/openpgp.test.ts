/** Users' keys -> WKD publications (config layer), with openpgp.js doing the OpenPGP work for real. */
import { armor, enums } from "openpgp";
import { ProblemList } from "../../components/config/errors";
import { deriveWkdPublications, readOpenpgpFacts, uidMailbox, WkdUserInput } from "../../components/config/openpgp";
import type { WkdPublication } from "../../components/config/model";
import { BOB_KEY, STRANGER_KEY, USER_KEY, freshKey, publicArmored, readBinary, withRevokedUid } from "../helpers/openpgp";

const user = (i: number, address: string, armoredKey?: string): WkdUserInput => ({ address, userConfigKey: `homemail:users[${i}]`, armoredKey });
const BOTH = ["example.com", "example.org"];
const concat = (x: Uint8Array, y: Uint8Array) => Uint8Array.from([...x, ...y]);

function derive(users: WkdUserInput[], domains = BOTH): { pubs: WkdPublication[]; lines: string[] } {
    const problems = new ProblemList();
    const pubs = deriveWkdPublications({ domains, users }, problems);
    return { pubs, lines: problems.all.map((p) => `${p.key}: ${p.problem}. Fix: ${p.fix}`) };
}
const bytesOf = (p: WkdPublication) => Uint8Array.from(Buffer.from(p.keyBase64, "base64"));

describe("uidMailbox", () => {
    it("takes the address in angle brackets or a bare address, ASCII lower-cased", () => {
        expect(uidMailbox("Bob Example (c) <Bob@Example.ORG>")).toBe("bob@example.org");
        expect(uidMailbox("bob@example.com")).toBe("bob@example.com");
        expect(uidMailbox("JÖRG <JÖRG@Example.com>")).toBe("jÖrg@example.com");
        expect(uidMailbox("Bob Example")).toBeUndefined();
        expect(uidMailbox("Bob <broken")).toBeUndefined();
        expect(uidMailbox("<not an address>")).toBeUndefined();
        expect(uidMailbox("x <a@localhost>")).toBeUndefined();
    });
});

describe("readOpenpgpFacts", () => {
    it("reports a parse error, or per key its fingerprint and user IDs; nothing of a private key", async () => {
        const priv = await freshKey("user@example.com");
        const [bad, pub, secret] = readOpenpgpFacts(["junk", USER_KEY(), priv.armor()]);
        expect(bad).toEqual({ ok: false, error: expect.any(String) });
        expect(pub.ok && pub.keys[0]).toMatchObject({ fingerprint: "ECAB3B3C77D5A886CBD05BDC1AA1C14D33144736", secret: false, userIds: [{ live: true, revoked: false }] });
        expect(secret).toEqual({ ok: true, keys: [{ fingerprint: priv.getFingerprint().toUpperCase(), secret: true }] });
    });
});

describe("deriveWkdPublications", () => {
    it("publishes the user's key at its own address: the minimal key, one user ID", async () => {
        const { pubs, lines } = derive([user(0, "user@example.com", USER_KEY()), user(1, "nokey@example.com")]);
        expect(lines).toEqual([]);
        expect(pubs).toHaveLength(1);
        expect(pubs[0]).toMatchObject({ address: "user@example.com", localPart: "user", domain: "example.com", fingerprint: "ECAB3B3C77D5A886CBD05BDC1AA1C14D33144736", configKey: "homemail:users[0].openpgpPublicKey" });
        const key = await readBinary(bytesOf(pubs[0]));
        expect(key.getUserIDs()).toEqual(["Example User (homemail test-only key) <user@example.com>"]);
        expect(key.subkeys).toHaveLength(1);
        await expect(key.getEncryptionKey()).resolves.toBeDefined();
    });

    it("serves one key in every mail domain it names, one user ID each, without others' certifications", async () => {
        const { pubs, lines } = derive([user(0, "bob@example.com", BOB_KEY())]);
        expect(lines).toEqual([]);
        expect(pubs.map((p) => p.address)).toEqual(["bob@example.com", "bob@example.org"]);
        expect(new Set(pubs.map((p) => p.fingerprint)).size).toBe(1);
        for (const p of pubs) {
            const key = await readBinary(bytesOf(p));
            expect(key.users).toHaveLength(1);
            expect(uidMailbox(key.users[0].userID!.userID)).toBe(p.address);
            expect(key.users[0].otherCertifications).toHaveLength(0); // bob@example.com's certification by another key is gone
            expect(key.users[0].selfCertifications).toHaveLength(1);
            expect(key.subkeys).toHaveLength(1);
            expect(Buffer.from(bytesOf(p)).includes("private.invalid")).toBe(false); // other user IDs do not leak
        }
        expect(pubs[1].userIds).toEqual(["Bob Example (homemail test-only) <Bob@Example.ORG>"]);
    });

    it("publishes only in this deployment's domains", () => {
        const { pubs } = derive([user(0, "bob@example.com", BOB_KEY())], ["example.com"]);
        expect(pubs.map((p) => p.address)).toEqual(["bob@example.com"]);
    });

    it("is deterministic and independent of the order of users and domains", () => {
        const users = [user(0, "user@example.com", USER_KEY()), user(1, "bob@example.com", BOB_KEY()), user(2, "x@example.com")];
        const a = derive(users).pubs;
        const b = derive([...users].reverse(), [...BOTH].reverse()).pubs;
        expect(b).toEqual(a);
        expect(derive(users).pubs).toEqual(a);
    });

    it("refuses a key without a user ID for the user's address, naming the config key", () => {
        const { pubs, lines } = derive([user(0, "user@example.com", USER_KEY()), user(1, "bob@example.com", STRANGER_KEY())]);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^homemail:users\[1\]\.openpgpPublicKey: the key [0-9A-F]{40} has no user ID for bob@example\.com \(its user IDs are for stranger@unrelated\.invalid\)\. Fix: add one with 'gpg --quick-add-uid [0-9A-F]{40} "Name <bob@example\.com>"'/);
        expect(pubs.map((p) => p.address)).toEqual(["user@example.com"]);
    });

    it("refuses an unparsable key in one line, naming the config key", () => {
        for (const junk of ["not a key", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"]) {
            const { lines } = derive([user(3, "user@example.com", junk)]);
            expect(lines).toHaveLength(1);
            expect(lines[0]).toMatch(/^homemail:users\[3\]\.openpgpPublicKey: is not an armored OpenPGP public key \(openpgp: [^\n]+\)\. Fix: paste the output of 'gpg --armor --export user@example\.com'$/);
        }
    });

    it("refuses a private key without echoing any of it", async () => {
        const armored = (await freshKey("user@example.com")).armor();
        const { lines } = derive([user(0, "user@example.com", armored)]);
        expect(lines[0]).toMatch(/^homemail:users\[0\]\.openpgpPublicKey: is a PRIVATE key/);
        for (const line of armored.split("\n").filter((l) => l.length > 20)) expect(lines.join("\n")).not.toContain(line);
    });

    it("refuses several keys, in one armored block or in several", async () => {
        expect(derive([user(0, "user@example.com", USER_KEY() + BOB_KEY())]).lines[0]).toMatch(/^homemail:users\[0\]\.openpgpPublicKey: holds 2 armored blocks/);
        const a = await freshKey("user@example.com");
        const b = await freshKey("user@example.com");
        const oneBlock = armor(enums.armor.publicKey, concat(a.toPublic().write(), b.toPublic().write()));
        expect(derive([user(0, "user@example.com", oneBlock)]).lines[0]).toMatch(/^homemail:users\[0\]\.openpgpPublicKey: holds 2 keys \([0-9A-F]{40}, [0-9A-F]{40}\)/);
    });

    it("refuses a key whose user ID for the address is revoked, and never publishes a revoked user ID", async () => {
        const k = await withRevokedUid(await freshKey("carol@example.com", "carol@example.org"), "carol@example.com");
        expect(derive([user(0, "carol@example.com", publicArmored(k))]).lines[0]).toMatch(/^homemail:users\[0\]\.openpgpPublicKey: the key [0-9A-F]{40} has a user ID for carol@example\.com but it is revoked/);
        const k2 = await withRevokedUid(await freshKey("dave@example.com", "dave@example.org"), "dave@example.org");
        const { pubs, lines } = derive([user(0, "dave@example.com", publicArmored(k2))]);
        expect(lines).toEqual([]);
        expect(pubs.map((p) => p.address)).toEqual(["dave@example.com"]);
    });

    it("refuses a user ID naming another user's mailbox unless that user has the same key", async () => {
        const noKey = derive([user(0, "bob@example.com", BOB_KEY()), user(1, "bob@example.org")]).lines;
        expect(noKey[0]).toMatch(/^homemail:users\[0\]\.openpgpPublicKey: the key [0-9A-F]{40} has a user ID for bob@example\.org, the mailbox of homemail:users\[1\], whose openpgpPublicKey is not set\. Fix: set the same key on homemail:users\[1\]\.openpgpPublicKey/);

        const adminLines = derive([user(0, "bob@example.com", BOB_KEY()), { address: "bob@example.org", userConfigKey: "homemail:adminAddress" }]).lines;
        expect(adminLines[0]).toMatch(/the mailbox of homemail:adminAddress, whose openpgpPublicKey is not set\. Fix: add bob@example\.org to homemail:users with the same openpgpPublicKey/);

        const same = derive([user(0, "bob@example.com", BOB_KEY()), user(1, "bob@example.org", BOB_KEY())]);
        expect(same.lines).toEqual([]);
        expect(same.pubs.map((p) => [p.address, p.configKey])).toEqual([
            ["bob@example.com", "homemail:users[0].openpgpPublicKey"],
            ["bob@example.org", "homemail:users[1].openpgpPublicKey"],
        ]);

        const other = await freshKey("bob@example.org");
        expect(derive([user(0, "bob@example.com", BOB_KEY()), user(1, "bob@example.org", publicArmored(other))]).lines[0]).toMatch(/whose openpgpPublicKey is another key \([0-9A-F]{40}\)/);
    });

    it("refuses two different keys claiming one address, and reports every problem at once", async () => {
        const a = await freshKey("anna@example.com", "info@example.com");
        const b = await freshKey("ben@example.com", "info@example.com");
        const { lines } = derive([user(0, "anna@example.com", publicArmored(a)), user(1, "ben@example.com", publicArmored(b)), user(2, "user@example.com", "garbage")]);
        expect(lines).toHaveLength(2);
        expect(lines[0]).toMatch(/^homemail:users\[2\]\.openpgpPublicKey: is not an armored/);
        expect(lines[1]).toMatch(/^homemail:users\[0\]\.openpgpPublicKey: info@example\.com is claimed by 2 different keys \([0-9A-F]{40} from homemail:users\[0\]\.openpgpPublicKey, [0-9A-F]{40} from homemail:users\[1\]\.openpgpPublicKey\)/);
    });
});
