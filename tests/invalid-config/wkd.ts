/** Web Key Directory: users' OpenPGP keys, parsed with openpgp.js at parse time (components/config/openpgp.ts). */
import type { InvalidCase } from "./cases";
import { devValue } from "../helpers/stack";
import { BOB_KEY, STRANGER_KEY, USER_KEY } from "../helpers/openpgp";

const devUser = () => devValue<Record<string, unknown>[]>("homemail:users")[0];
const withKey = (openpgpPublicKey: string) => [{ key: "homemail:users", value: [{ ...devUser(), openpgpPublicKey }] }];

export const WKD_CASES: InvalidCase[] = [
    { title: "OpenPGP key that is not a key", changes: withKey("mDMEawWd1BYJKwYBBAHaRw8BAQdA"), key: "homemail:users[0].openpgpPublicKey", mentions: "not an armored OpenPGP public key" },
    { title: "OpenPGP key block that does not parse", changes: withKey("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"), key: "homemail:users[0].openpgpPublicKey", mentions: "gpg --armor --export user@example.com" },
    { title: "OpenPGP key without a user ID for the address", changes: [{ key: "homemail:users", value: [devUser(), { address: "bob@example.com", openpgpPublicKey: STRANGER_KEY() }] }], key: "homemail:users[1].openpgpPublicKey", mentions: /has no user ID for bob@example\.com .*Fix: add one with 'gpg --quick-add-uid/ },
    { title: "someone else's OpenPGP key on a user", changes: withKey(BOB_KEY()), key: "homemail:users[0].openpgpPublicKey", mentions: "has no user ID for user@example.com" },
    { title: "OpenPGP key that is plain text", changes: withKey("not a key at all"), key: "homemail:users[0].openpgpPublicKey", mentions: "not an armored OpenPGP public key" },
    { title: "one user's OpenPGP key set on a second user", changes: [{ key: "homemail:users", value: [devUser(), { address: "other@example.com", openpgpPublicKey: USER_KEY() }] }], key: "homemail:users[1].openpgpPublicKey", mentions: "has no user ID for other@example.com" },
    { title: "two OpenPGP keys in one value", changes: withKey(USER_KEY() + BOB_KEY()), key: "homemail:users[0].openpgpPublicKey", mentions: "holds 2 armored blocks" },
];
