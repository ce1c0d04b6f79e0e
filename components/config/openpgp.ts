/**
 * Users' OpenPGP public keys -> the Web Key Directory publications of the model (which address
 * serves which minimal key), with every problem named by its config key.
 *
 * Parsing and signature checks are done by openpgp.js, in a child process (openpgpFacts.js): its API
 * is promise-only, while the config layer is synchronous by contract (the program must know the
 * whole config is valid before it registers anything). Everything decided from those facts is here,
 * pure and synchronous.
 *
 * Rules:
 * - A configured key must be one armored block holding one public key (a private key is refused
 *   without echoing anything of it), with a live user ID (valid self-certification, not revoked) for
 *   its user's own address.
 * - It is published for every live user ID whose domain is a mail domain of this deployment (one key
 *   naming bob@example.com and bob@example.org serves both); user IDs in other domains are not.
 * - A user ID naming another configured user's mailbox is refused unless that user has the same key;
 *   two different keys claiming one address are refused.
 * - What is published for an address is the minimal key that `gpg-wks-client --install-key` also
 *   writes: the primary key with its valid self-signatures, only the user ID(s) for that address with
 *   their newest self-certification, and every bound subkey; no certifications by others and nothing
 *   of the key's other user IDs.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as path from "node:path";
import type { ProblemList } from "./errors";
import type { WkdPublication } from "./model";

/** What openpgp.js says about one armored text (see openpgpFacts.js). */
export type KeyFacts = { readonly ok: false; readonly error: string } | { readonly ok: true; readonly keys: readonly KeyFact[] };

export interface KeyFact {
    /** Primary key fingerprint, upper-case hex. */
    readonly fingerprint: string;
    /** True for a private (secret) key; then nothing else is reported. */
    readonly secret: boolean;
    /** base64 packets: primary key + its valid self-issued revocations and direct-key signatures. */
    readonly head?: string;
    /** Every user ID packet of the key, in key order. */
    readonly userIds?: readonly {
        readonly userId: string;
        /** Has a valid self-certification and no valid self-revocation. */
        readonly live: boolean;
        readonly revoked: boolean;
        /** base64: the user ID packet + its newest valid self-certification (empty when not live). */
        readonly packets: string;
    }[];
    /** base64 packets: every bound subkey with its newest valid binding and valid revocations. */
    readonly tail?: string;
}

const FACTS_SCRIPT = path.join(__dirname, "openpgpFacts.js");
/** Facts by sha256 of the armored text, shared by every module instance in this process (tests reload modules). */
const CACHE_KEY = Symbol.for("homemail.openpgpFacts.cache");
const cache: Map<string, KeyFacts> = ((globalThis as Record<symbol, unknown>)[CACHE_KEY] ??= new Map()) as Map<string, KeyFacts>;

/** Asks openpgp.js about each armored text (one child process for all uncached ones). */
export function readOpenpgpFacts(armored: readonly string[]): KeyFacts[] {
    const id = (text: string) => createHash("sha256").update(text).digest("hex");
    const missing = [...new Set(armored.filter((a) => !cache.has(id(a))))];
    if (missing.length > 0) {
        const stdout = execFileSync(process.execPath, [FACTS_SCRIPT], {
            input: JSON.stringify({ openpgp: require.resolve("openpgp"), keys: missing }),
            encoding: "utf8",
            timeout: 60_000,
            maxBuffer: 64 * 1024 * 1024,
            // A plain node: no loaders or flags of the parent (tsx, jest) in the helper.
            env: { ...process.env, NODE_OPTIONS: "" },
            stdio: ["pipe", "pipe", "pipe"],
        });
        const { results } = JSON.parse(stdout) as { results: KeyFacts[] };
        missing.forEach((a, i) => cache.set(id(a), results[i]));
    }
    return armored.map((a) => cache.get(id(a))!);
}

/** ASCII-only lower-casing, as GnuPG and the WKD draft do. */
const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * The mailbox of a user ID as GnuPG derives it (`mailbox_from_userid`): the text between `<` and `>`
 * if there are angle brackets, else the whole user ID if it is a bare address; ASCII lower-cased.
 * Undefined when the user ID holds no plausible address.
 */
export function uidMailbox(userId: string): string | undefined {
    const open = userId.indexOf("<");
    let candidate: string;
    if (open >= 0) {
        const close = userId.indexOf(">", open + 1);
        if (close < 0) return undefined;
        candidate = userId.slice(open + 1, close);
    } else {
        candidate = userId.trim();
    }
    if (!/^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/.test(candidate)) return undefined;
    const domain = candidate.slice(candidate.lastIndexOf("@") + 1);
    if (domain.startsWith(".") || domain.endsWith(".") || domain.includes("..") || !domain.includes(".")) return undefined;
    return asciiLower(candidate);
}

/** One configured mailbox and, if set, its armored key. */
export interface WkdUserInput {
    /** The mailbox address, lowercase: `bob@example.com`. */
    readonly address: string;
    /** Where the user is configured: `homemail:users[1]`, or `homemail:adminAddress` for an admin not in users. */
    readonly userConfigKey: string;
    /** Armored public key (`homemail:users[i].openpgpPublicKey`), if this user publishes one. */
    readonly armoredKey?: string;
}

/** The config key that holds (or would hold) a user's key. */
function keyConfigKey(u: WkdUserInput): string {
    return `${u.userConfigKey}.openpgpPublicKey`;
}

/** A parsed, accepted key of one configured user. */
interface Accepted {
    readonly configKey: string;
    readonly owner: string;
    readonly fact: Required<KeyFact>;
    /** Live user IDs by mailbox: the user ID strings and their packets. */
    readonly byMailbox: ReadonlyMap<string, { userIds: string[]; packets: string[] }>;
}

const exportHint = (address: string) => `paste the output of 'gpg --armor --export ${address}'`;

function accept(user: WkdUserInput, armored: string, facts: KeyFacts, problems: ProblemList): Accepted | undefined {
    const at = keyConfigKey(user);
    // openpgp reads the first armored block only; a second one would be dropped without a word.
    const blocks = armored.match(/-----BEGIN PGP [A-Z ]+-----/g) ?? [];
    if (blocks.length > 1) {
        problems.add(at, `holds ${blocks.length} armored blocks; WKD publishes one key per address`, `export only the key for ${user.address}: 'gpg --armor --export <FINGERPRINT>'`);
        return undefined;
    }
    if (!facts.ok) {
        problems.add(at, `is not an armored OpenPGP public key (openpgp: ${facts.error})`, exportHint(user.address));
        return undefined;
    }
    if (facts.keys.length !== 1) {
        const fprs = facts.keys.map((k) => k.fingerprint).join(", ");
        problems.add(at, `holds ${facts.keys.length} keys (${fprs}); WKD publishes one key per address`, `export only the key for ${user.address}: 'gpg --armor --export <FINGERPRINT>'`);
        return undefined;
    }
    const fact = facts.keys[0];
    if (fact.secret || !fact.head || !fact.userIds || fact.tail === undefined) {
        problems.add(at, `is a PRIVATE key (${fact.fingerprint}); it must never be in config or on the VPS`, `${exportHint(user.address)} instead, remove the private key from the stack file and its history, and consider it exposed`);
        return undefined;
    }
    const byMailbox = new Map<string, { userIds: string[]; packets: string[] }>();
    const seen: string[] = [];
    let ownDead = false;
    for (const u of fact.userIds) {
        const mailbox = uidMailbox(u.userId);
        if (!mailbox) continue;
        seen.push(mailbox);
        if (!u.live) {
            if (mailbox === user.address) ownDead = true;
            continue;
        }
        const entry = byMailbox.get(mailbox) ?? { userIds: [], packets: [] };
        entry.userIds.push(u.userId);
        entry.packets.push(u.packets);
        byMailbox.set(mailbox, entry);
    }
    if (!byMailbox.has(user.address)) {
        const fpr = fact.fingerprint;
        if (ownDead) {
            problems.add(at, `the key ${fpr} has a user ID for ${user.address} but it is revoked or has no valid self-signature`, `certify it again with 'gpg --quick-add-uid ${fpr} "Name <${user.address}>"' and ${exportHint(user.address)}`);
        } else {
            const has = seen.length > 0 ? `its user IDs are for ${[...new Set(seen)].join(", ")}` : "it has no user ID with an address";
            problems.add(at, `the key ${fpr} has no user ID for ${user.address} (${has})`, `add one with 'gpg --quick-add-uid ${fpr} "Name <${user.address}>"' and ${exportHint(user.address)}, or move the key to the user it belongs to`);
        }
        return undefined;
    }
    return { configKey: at, owner: user.address, fact: fact as Required<KeyFact>, byMailbox };
}

/**
 * The WKD publications for the configured users' keys, sorted by address. Problems go to `problems`
 * (one per config key and cause); the publications of keys with problems are left out.
 */
export function deriveWkdPublications(
    input: { readonly domains: readonly string[]; readonly users: readonly WkdUserInput[] },
    problems: ProblemList,
    facts: (armored: readonly string[]) => KeyFacts[] = readOpenpgpFacts,
): WkdPublication[] {
    const domains = new Set(input.domains);
    const keyed = input.users.filter((u): u is WkdUserInput & { armoredKey: string } => u.armoredKey !== undefined);
    const allFacts = keyed.length > 0 ? facts(keyed.map((u) => u.armoredKey)) : [];
    const accepted: Accepted[] = [];
    keyed.forEach((u, i) => {
        const a = accept(u, u.armoredKey, allFacts[i], problems);
        if (a) accepted.push(a);
    });

    const ownerOf = new Map(input.users.map((u) => [u.address, u]));
    const fingerprintOf = new Map(accepted.map((a) => [a.owner, a.fact.fingerprint]));
    /** address -> fingerprint -> first claimant in config order */
    const claims = new Map<string, Map<string, Accepted>>();
    const bad = new Set<string>();
    for (const a of accepted) {
        for (const mailbox of [...a.byMailbox.keys()].sort()) {
            if (!domains.has(mailbox.slice(mailbox.lastIndexOf("@") + 1))) continue;
            const owner = ownerOf.get(mailbox);
            if (owner && owner.address !== a.owner && fingerprintOf.get(owner.address) !== a.fact.fingerprint) {
                const theirs = fingerprintOf.get(owner.address);
                const inUsers = owner.userConfigKey.includes(":users[");
                const setIt = inUsers ? `set the same key on ${keyConfigKey(owner)}` : `add ${mailbox} to homemail:users with the same openpgpPublicKey`;
                problems.add(
                    a.configKey,
                    `the key ${a.fact.fingerprint} has a user ID for ${mailbox}, the mailbox of ${owner.userConfigKey}, whose openpgpPublicKey is ${theirs ? `another key (${theirs})` : "not set"}`,
                    `${setIt} if both mailboxes are one person's, else revoke that user ID ('gpg --quick-revoke-uid ${a.fact.fingerprint} <user ID>') and export the key again`,
                );
                bad.add(a.configKey);
                continue;
            }
            const byFpr = claims.get(mailbox) ?? new Map<string, Accepted>();
            if (!byFpr.has(a.fact.fingerprint)) byFpr.set(a.fact.fingerprint, a);
            claims.set(mailbox, byFpr);
        }
    }
    for (const [mailbox, byFpr] of claims) {
        if (byFpr.size < 2) continue;
        const who = [...byFpr.values()];
        problems.add(
            who[0].configKey,
            `${mailbox} is claimed by ${who.length} different keys (${who.map((w) => `${w.fact.fingerprint} from ${w.configKey}`).join(", ")}); WKD serves one key per address`,
            `revoke the user ID for ${mailbox} in all keys but one and export them again`,
        );
        for (const w of who) bad.add(w.configKey);
    }

    const acceptedBy = new Map(accepted.map((a) => [a.owner, a]));
    const publications: WkdPublication[] = [];
    for (const [mailbox, byFpr] of [...claims].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
        // A mailbox's own user is named as the source when it has the key, else the first claimant.
        const a = acceptedBy.get(mailbox) ?? [...byFpr.values()][0];
        if (byFpr.size > 1 || bad.has(a.configKey)) continue;
        const uids = a.byMailbox.get(mailbox)!;
        const bytes = Buffer.concat([a.fact.head, ...uids.packets, a.fact.tail].map((b) => Buffer.from(b, "base64")));
        const at = mailbox.lastIndexOf("@");
        publications.push({
            address: mailbox,
            localPart: mailbox.slice(0, at),
            domain: mailbox.slice(at + 1),
            fingerprint: a.fact.fingerprint,
            userIds: uids.userIds,
            configKey: a.configKey,
            keyBase64: bytes.toString("base64"),
        });
    }
    return publications;
}
