/** Test-only OpenPGP helpers: the committed public fixtures and keys made on the fly with openpgp.js. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as openpgp from "openpgp";

export const OPENPGP_FIXTURES = join(__dirname, "..", "fixtures", "openpgp");

/** Armored text of a committed fixture, e.g. `user-example.com.asc`. */
export function fixtureKey(file: string): string {
    return readFileSync(join(OPENPGP_FIXTURES, file), "utf8");
}

export const USER_KEY = () => fixtureKey("user-example.com.asc");
export const BOB_KEY = () => fixtureKey("bob-example.com-example.org.asc");
export const STRANGER_KEY = () => fixtureKey("stranger-unrelated.invalid.asc");

/** A fresh ed25519 key pair with the given addresses as user IDs (never written to disk). */
export async function freshKey(...emails: string[]): Promise<openpgp.PrivateKey> {
    const { privateKey } = await openpgp.generateKey({
        userIDs: emails.map((email) => ({ name: "Throw-away (homemail test)", email })),
        type: "ecc",
        format: "object",
    });
    return privateKey;
}

/** The same key with its user ID for `email` revoked (by the key itself). */
export async function withRevokedUid(key: openpgp.PrivateKey, email: string): Promise<openpgp.PrivateKey> {
    const i = key.users.findIndex((u) => u.userID?.email === email);
    if (i < 0) throw new Error(`no user ID ${email}`);
    const revoked = await key.users[i].revoke(key.keyPacket as openpgp.SecretKeyPacket);
    key.users[i] = revoked;
    return key;
}

/** The public half, armored. */
export function publicArmored(key: openpgp.PrivateKey): string {
    return key.toPublic().armor();
}

/** Parses a binary key as the tests' second opinion on what was published. */
export async function readBinary(bytes: Uint8Array): Promise<openpgp.Key> {
    return openpgp.readKey({ binaryKey: bytes });
}
