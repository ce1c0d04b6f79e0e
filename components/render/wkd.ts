/**
 * The OpenPGP Web Key Directory tree (advanced method, draft-koch-openpgp-webkey-service) built from
 * the users' armored public keys: `.well-known/openpgpkey/<domain>/policy` (empty) for every mail
 * domain and `.well-known/openpgpkey/<domain>/hu/<hash>` (binary key) for every published address.
 *
 * What is published for an address is the "minimal" key that `gpg-wks-client --install-key` also
 * writes: the primary key with its valid self-issued direct-key and revocation signatures, only the
 * user ID(s) whose mailbox is that address with their newest valid self-certification, and every
 * subkey with its newest valid binding and valid revocations. A revoked user ID is not published. No third-party
 * certifications, no other user IDs (a key's other addresses are not disclosed), no user attributes.
 * Nothing is re-signed: the packets are the key owner's, so the same input gives the same bytes.
 *
 * Which addresses a key is published for: every user ID of the key whose domain is a mail domain of
 * this deployment (one key with user IDs in two domains serves both). The key must have a valid user
 * ID for its own user's address. A user ID naming another configured user's mailbox is refused unless
 * that user has the same key; two different keys claiming one address are refused.
 *
 * Async because openpgp's parsing and verification API is promise-based; pure otherwise (no I/O, no
 * clock: signatures are checked with openpgp's `date = null`, which skips every time check, so expiry
 * is not judged here; an expired key is still published, as gpg-wks-client does).
 */
import { enums, readKeys, PacketList, type AnyPacket, type Key, type SignaturePacket, type User } from "openpgp";
import { asciiLowercase, splitAddress, wkdHash, wkdPath } from "./wkdHash";

/** One configured mailbox and, if set, its armored key. */
export interface WkdUserInput {
    /** The mailbox address, lowercase: `bob@example.com`. */
    readonly address: string;
    /** The config key holding the armored key, named in errors: `homemail:users[1].openpgpPublicKey`. */
    readonly keyConfigKey: string;
    /** Armored OpenPGP public key (`gpg --armor --export ADDRESS`), if this user publishes one. */
    readonly armoredKey?: string;
}

/** What {@link renderWkdTree} needs: the mail domains and every configured mailbox. */
export interface WkdTreeInput {
    /** Mail domains (lowercase), each gets a `policy` file. */
    readonly domains: readonly string[];
    /** Every configured mailbox, in config order (users without a key are needed to detect claims). */
    readonly users: readonly WkdUserInput[];
}

/** One address the WKD serves a key for. */
export interface WkdPublication {
    /** Address the key is served for, lowercase. */
    readonly address: string;
    readonly localPart: string;
    readonly domain: string;
    /** z-base-32 SHA-1 of the local part: the file name under `hu/`. */
    readonly hash: string;
    /** File path relative to the public root: `.well-known/openpgpkey/<domain>/hu/<hash>`. */
    readonly path: string;
    /** URL path (no query) on `openpgpkey.<domain>`. */
    readonly urlPath: string;
    /** Primary key fingerprint, upper-case hex. */
    readonly fingerprint: string;
    /** The user ID strings kept in the published key, in key order. */
    readonly userIds: readonly string[];
    /** Config key the key came from. */
    readonly configKey: string;
    /** The binary minimal key. */
    readonly bytes: Uint8Array;
}

/** One file of the public tree, relative to the public root (no leading slash). */
export interface WkdTreeFile {
    readonly path: string;
    readonly bytes: Uint8Array;
}

export interface WkdTree {
    /** Every file of the tree, sorted by path: policies and keys. */
    readonly files: readonly WkdTreeFile[];
    /** Every published address, sorted by domain then hash. */
    readonly publications: readonly WkdPublication[];
}

/** One problem with a configured key: which config key, what is wrong, how to fix it. */
export interface WkdKeyProblem {
    readonly key: string;
    readonly problem: string;
    readonly fix: string;
}

/** Raised with every key problem found, one line each (`key: problem. Fix: fix`). */
export class WkdKeyError extends Error {
    readonly problems: readonly WkdKeyProblem[];
    constructor(problems: readonly WkdKeyProblem[]) {
        super(problems.map((p) => `${p.key}: ${p.problem}. Fix: ${p.fix}`).join("\n"));
        this.name = "WkdKeyError";
        this.problems = problems;
    }
}

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
    const { domain } = splitAddress(candidate);
    if (domain.startsWith(".") || domain.endsWith(".") || domain.includes("..") || !domain.includes(".")) return undefined;
    return asciiLowercase(candidate);
}

/** A parsed, accepted key of one configured user. */
interface AcceptedKey {
    readonly configKey: string;
    readonly owner: string;
    readonly key: Key;
    readonly fingerprint: string;
    /** Valid, unrevoked user IDs by mailbox. */
    readonly byMailbox: ReadonlyMap<string, readonly User[]>;
}

type Verifiable = { verify: SignaturePacket["verify"] };

/** True when the signature verifies against the primary key; time checks off (date null). */
async function valid(sig: SignaturePacket, key: Key, type: enums.signature, data: object): Promise<boolean> {
    if (!sig.issuerKeyID.equals(key.getKeyID())) return false;
    try {
        // `null` is openpgp's documented "ignore time" date (util.normalizeDate); its typings omit it.
        await (sig as Verifiable).verify(key.keyPacket, type, data, null as unknown as Date);
        return true;
    } catch {
        return false;
    }
}

async function validOnes(sigs: readonly SignaturePacket[], key: Key, type: enums.signature, data: object) {
    const out: SignaturePacket[] = [];
    for (const sig of sigs) if (await valid(sig, key, type, data)) out.push(sig);
    return out;
}

/** The newest of some signatures (by creation time; on a tie the later one in the key). */
function newest(sigs: readonly SignaturePacket[]): SignaturePacket | undefined {
    let best: SignaturePacket | undefined;
    for (const sig of sigs) if (!best || (sig.created?.getTime() ?? 0) >= (best.created?.getTime() ?? 0)) best = sig;
    return best;
}

function userData(key: Key, user: User): object {
    return { userID: user.userID, userAttribute: user.userAttribute, key: key.keyPacket };
}

/** The user's newest valid self-certification, or undefined when it has none or is revoked. */
async function liveSelfCertification(key: Key, user: User): Promise<SignaturePacket | undefined> {
    const data = userData(key, user);
    const revocations = await validOnes(user.revocationSignatures, key, enums.signature.certRevocation, data);
    if (revocations.length > 0) return undefined;
    return newest(await validOnes(user.selfCertifications, key, enums.signature.certGeneric, data));
}

/** openpgp keeps direct-key signatures on the key object without typing them. */
function directSignatures(key: Key): readonly SignaturePacket[] {
    return (key as unknown as { directSignatures?: SignaturePacket[] }).directSignatures ?? [];
}

/** The minimal binary key for one address (see the module comment). Deterministic. */
async function minimalKey(key: Key, users: readonly User[]): Promise<Uint8Array> {
    const primary = { key: key.keyPacket };
    const packets = new PacketList<AnyPacket>();
    const push = (...p: (AnyPacket | null | undefined)[]) => {
        for (const x of p) if (x) packets.push(x);
    };
    push(key.keyPacket);
    push(...(await validOnes(key.revocationSignatures, key, enums.signature.keyRevocation, primary)));
    push(...(await validOnes(directSignatures(key), key, enums.signature.key, primary)));
    for (const user of users) {
        const data = userData(key, user);
        push(user.userID);
        push(newest(await validOnes(user.selfCertifications, key, enums.signature.certGeneric, data)));
    }
    for (const sub of key.subkeys) {
        const data = { key: key.keyPacket, bind: sub.keyPacket };
        const binding = newest(await validOnes(sub.bindingSignatures, key, enums.signature.subkeyBinding, data));
        if (!binding) continue; // gpg ignores an unbound subkey; do not publish it
        push(sub.keyPacket);
        push(...(await validOnes(sub.revocationSignatures, key, enums.signature.subkeyRevocation, data)));
        push(binding);
    }
    return packets.write();
}

const exportHint = (address: string) => `paste the output of 'gpg --armor --export ${address}'`;

/** Parses and checks one user's key; records problems and returns undefined when it is unusable. */
async function acceptKey(user: WkdUserInput, armored: string, problems: WkdKeyProblem[]): Promise<AcceptedKey | undefined> {
    const at = user.keyConfigKey;
    // openpgp reads the first armored block only; a second one would be dropped without a word.
    const blocks = armored.match(/-----BEGIN PGP [A-Z ]+-----/g) ?? [];
    if (blocks.length > 1) {
        problems.push({
            key: at,
            problem: `holds ${blocks.length} armored blocks; WKD publishes one key per address`,
            fix: `export only the key for ${user.address}: 'gpg --armor --export <FINGERPRINT>'`,
        });
        return undefined;
    }
    let keys: Key[];
    try {
        keys = await readKeys({ armoredKeys: armored });
    } catch (e) {
        const why = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ").trim();
        problems.push({ key: at, problem: `is not an armored OpenPGP public key (openpgp: ${why})`, fix: exportHint(user.address) });
        return undefined;
    }
    if (keys.length !== 1) {
        problems.push({
            key: at,
            problem: `holds ${keys.length} keys (${keys.map((k) => k.getFingerprint().toUpperCase()).join(", ")}); WKD publishes one key per address`,
            fix: `export only the key for ${user.address}: 'gpg --armor --export <FINGERPRINT>'`,
        });
        return undefined;
    }
    const key = keys[0];
    const fingerprint = key.getFingerprint().toUpperCase();
    if (key.isPrivate()) {
        problems.push({
            key: at,
            problem: `is a PRIVATE key (${fingerprint}); it must never be in config or on the VPS`,
            fix: `${exportHint(user.address)} instead, remove the private key from the stack file and its history, and consider it exposed`,
        });
        return undefined;
    }
    const byMailbox = new Map<string, User[]>();
    const uidsSeen: string[] = [];
    let ownUidDead = false;
    for (const u of key.users) {
        if (!u.userID) continue;
        const mailbox = uidMailbox(u.userID.userID);
        if (!mailbox) continue;
        uidsSeen.push(mailbox);
        if (!(await liveSelfCertification(key, u))) {
            if (mailbox === user.address) ownUidDead = true;
            continue;
        }
        byMailbox.set(mailbox, [...(byMailbox.get(mailbox) ?? []), u]);
    }
    if (!byMailbox.has(user.address)) {
        const has = uidsSeen.length > 0 ? `its user IDs are for ${[...new Set(uidsSeen)].join(", ")}` : "it has no user ID with an address";
        problems.push(
            ownUidDead
                ? {
                      key: at,
                      problem: `the key ${fingerprint} has a user ID for ${user.address} but it is revoked or has no valid self-signature`,
                      fix: `re-certify it with 'gpg --quick-add-uid ${fingerprint} "Name <${user.address}>"' and ${exportHint(user.address)}`,
                  }
                : {
                      key: at,
                      problem: `the key ${fingerprint} has no user ID for ${user.address} (${has})`,
                      fix: `add one with 'gpg --quick-add-uid ${fingerprint} "Name <${user.address}>"' and ${exportHint(user.address)}, or move the key to the user it belongs to`,
                  },
        );
        return undefined;
    }
    return { configKey: at, owner: user.address, key, fingerprint, byMailbox };
}

/**
 * Builds the WKD tree from the configured keys. Throws {@link WkdKeyError} listing every problem
 * (unparsable key, private key, several keys, no valid user ID for the user's address, conflicting
 * claims on an address), each naming the config key and the fix.
 */
export async function renderWkdTree(input: WkdTreeInput): Promise<WkdTree> {
    const domains = [...new Set(input.domains)].sort();
    const domainSet = new Set(domains);
    const problems: WkdKeyProblem[] = [];

    const accepted: AcceptedKey[] = [];
    for (const user of input.users) {
        if (user.armoredKey === undefined) continue;
        const a = await acceptKey(user, user.armoredKey, problems);
        if (a) accepted.push(a);
    }

    const mailboxOwner = new Map(input.users.map((u) => [u.address, u]));
    const fingerprintOf = new Map(accepted.map((a) => [a.owner, a.fingerprint]));
    /** address -> fingerprint -> the first key (in config order) claiming it */
    const claims = new Map<string, Map<string, AcceptedKey>>();
    for (const a of accepted) {
        for (const mailbox of [...a.byMailbox.keys()].sort()) {
            if (!domainSet.has(splitAddress(mailbox).domain)) continue;
            const owner = mailboxOwner.get(mailbox);
            if (owner && owner.address !== a.owner && fingerprintOf.get(owner.address) !== a.fingerprint) {
                const theirs = fingerprintOf.get(owner.address);
                problems.push({
                    key: a.configKey,
                    problem: `the key ${a.fingerprint} has a user ID for ${mailbox}, the mailbox of ${owner.keyConfigKey.replace(/\.openpgpPublicKey$/, "")}, whose openpgpPublicKey is ${theirs ? `another key (${theirs})` : "not set"}`,
                    fix: `set the same key on ${owner.keyConfigKey} if both mailboxes are one person's, else revoke that user ID ('gpg --quick-revoke-uid ${a.fingerprint} <uid>') and export the key again`,
                });
                continue;
            }
            const byFpr = claims.get(mailbox) ?? new Map<string, AcceptedKey>();
            if (!byFpr.has(a.fingerprint)) byFpr.set(a.fingerprint, a);
            claims.set(mailbox, byFpr);
        }
    }
    for (const [mailbox, byFpr] of claims) {
        if (byFpr.size > 1) {
            const who = [...byFpr.values()];
            problems.push({
                key: who[0].configKey,
                problem: `${mailbox} is claimed by ${who.length} different keys (${who.map((w) => `${w.fingerprint} from ${w.configKey}`).join(", ")}); WKD serves one key per address`,
                fix: `revoke the user ID for ${mailbox} in all keys but one and export them again`,
            });
        }
    }
    if (problems.length > 0) throw new WkdKeyError(problems);

    const publications: WkdPublication[] = [];
    const acceptedBy = new Map(accepted.map((a) => [a.owner, a]));
    for (const [mailbox, byFpr] of claims) {
        // A mailbox's own user is named as the source when it has the key, else the first claimant.
        const a = acceptedBy.get(mailbox) ?? [...byFpr.values()][0];
        const { localPart, domain } = splitAddress(mailbox);
        const users = a.byMailbox.get(mailbox) ?? [];
        const urlPath = wkdPath(domain, localPart);
        publications.push({
            address: mailbox,
            localPart,
            domain,
            hash: wkdHash(localPart),
            path: urlPath.slice(1),
            urlPath,
            fingerprint: a.fingerprint,
            userIds: users.map((u) => u.userID?.userID ?? ""),
            configKey: a.configKey,
            bytes: await minimalKey(a.key, users),
        });
    }
    publications.sort((x, y) => (x.domain === y.domain ? cmp(x.hash, y.hash) : cmp(x.domain, y.domain)));

    const files: WkdTreeFile[] = [
        ...domains.map((d) => ({ path: `.well-known/openpgpkey/${d}/policy`, bytes: new Uint8Array(0) })),
        ...publications.map((p) => ({ path: p.path, bytes: p.bytes })),
    ].sort((x, y) => cmp(x.path, y.path));
    return { files, publications };
}

function cmp(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}
