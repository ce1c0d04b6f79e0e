#!/usr/bin/env node
/**
 * What openpgp.js (a real OpenPGP implementation) says about armored public keys, as plain JSON.
 *
 * Run by components/config/openpgp.ts as a child process, because openpgp's API is promise-only and
 * the config layer is synchronous (nothing may be registered with Pulumi before the config, keys
 * included, is known to be valid). Plain JavaScript so that it runs under plain `node` wherever the
 * program runs (ts-node, tsx, jest). It makes no decision: which addresses get which key, and every
 * error message, live in openpgp.ts.
 *
 * stdin:  {"openpgp": "<path of the openpgp module>", "keys": ["<armored>", ...]}
 * stdout: {"results": [KeyFacts, ...]} in the same order (types in openpgp.ts).
 *
 * Signatures are verified with openpgp's `date = null`, which skips every time check: the answer does
 * not depend on the clock. Nothing is re-signed, so the bytes are the key owner's packets.
 */
"use strict";

async function main() {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    const openpgp = require(request.openpgp);
    const results = [];
    for (const armored of request.keys) results.push(await factsOf(openpgp, armored));
    process.stdout.write(JSON.stringify({ results }));
}

async function factsOf(openpgp, armored) {
    let keys;
    try {
        keys = await openpgp.readKeys({ armoredKeys: armored });
    } catch (e) {
        return { ok: false, error: String(e && e.message ? e.message : e).replace(/\s+/g, " ").trim() };
    }
    const out = [];
    for (const key of keys) out.push(await keyFacts(openpgp, key));
    return { ok: true, keys: out };
}

async function keyFacts(openpgp, key) {
    const fingerprint = key.getFingerprint().toUpperCase();
    // Nothing of a secret key leaves this process, not even its public parts: it is refused anyway.
    if (key.isPrivate()) return { fingerprint, secret: true };
    const { enums, PacketList } = openpgp;
    const primary = { key: key.keyPacket };

    const isValid = async (sig, type, data) => {
        if (!sig.issuerKeyID.equals(key.getKeyID())) return false;
        try {
            await sig.verify(key.keyPacket, type, data, null);
            return true;
        } catch {
            return false;
        }
    };
    const validOnes = async (sigs, type, data) => {
        const ok = [];
        for (const sig of sigs) if (await isValid(sig, type, data)) ok.push(sig);
        return ok;
    };
    // The newest by creation time; on a tie, the later one in the key.
    const newest = (sigs) => sigs.reduce((best, s) => (!best || s.created.getTime() >= best.created.getTime() ? s : best), undefined);
    const write = (packets) => {
        const list = new PacketList();
        for (const p of packets) if (p) list.push(p);
        return Buffer.from(list.write()).toString("base64");
    };

    const head = write([
        key.keyPacket,
        ...(await validOnes(key.revocationSignatures, enums.signature.keyRevocation, primary)),
        ...(await validOnes(key.directSignatures || [], enums.signature.key, primary)),
    ]);

    const userIds = [];
    for (const user of key.users) {
        if (!user.userID) continue; // user attributes (photos) are never published
        const data = { userID: user.userID, userAttribute: null, key: key.keyPacket };
        const revoked = (await validOnes(user.revocationSignatures, enums.signature.certRevocation, data)).length > 0;
        const cert = revoked ? undefined : newest(await validOnes(user.selfCertifications, enums.signature.certGeneric, data));
        userIds.push({ userId: user.userID.userID, live: !!cert, revoked, packets: cert ? write([user.userID, cert]) : "" });
    }

    const subkeys = [];
    for (const sub of key.subkeys) {
        const data = { key: key.keyPacket, bind: sub.keyPacket };
        const binding = newest(await validOnes(sub.bindingSignatures, enums.signature.subkeyBinding, data));
        if (!binding) continue; // an unbound subkey is ignored by OpenPGP implementations: do not publish it
        subkeys.push(sub.keyPacket, ...(await validOnes(sub.revocationSignatures, enums.signature.subkeyRevocation, data)), binding);
    }
    return { fingerprint, secret: false, head, userIds, tail: write(subkeys) };
}

main().catch((e) => {
    process.stderr.write(`openpgpFacts: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
});
