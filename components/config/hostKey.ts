/**
 * SSH host keys as the config gives them: one public key in OpenSSH's authorized_keys/known_hosts
 * form, `<type> <base64>` (a trailing comment is dropped), as `ssh-keyscan -t ed25519 HOST` or
 * `/etc/ssh/ssh_host_ed25519_key.pub` on the host prints it.
 */

/** Key types OpenSSH offers as host keys (RFC 4253, 5656, 8709, and OpenSSH's security keys). */
const HOST_KEY_TYPES = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
] as const;

/** How many length-prefixed fields follow the type name in each key's blob (RFC 4253 6.6, 5656 3.1, 8709 4, OpenSSH PROTOCOL.u2f). */
const FIELDS: Record<(typeof HOST_KEY_TYPES)[number], number> = {
    "ssh-ed25519": 1,
    "ecdsa-sha2-nistp256": 2,
    "ecdsa-sha2-nistp384": 2,
    "ecdsa-sha2-nistp521": 2,
    "ssh-rsa": 2,
    "sk-ssh-ed25519@openssh.com": 2,
    "sk-ecdsa-sha2-nistp256@openssh.com": 3,
};

/** The blob as SSH strings (uint32 length, bytes), or undefined when it does not split exactly into them. */
function sshStrings(blob: Buffer): Buffer[] | undefined {
    const out: Buffer[] = [];
    for (let at = 0; at < blob.length; ) {
        if (at + 4 > blob.length) return undefined;
        const length = blob.readUInt32BE(at);
        if (at + 4 + length > blob.length) return undefined;
        out.push(blob.subarray(at + 4, at + 4 + length));
        at += 4 + length;
    }
    return out;
}

/**
 * The key in canonical `<type> <base64>` form, or why it is not one. The base64 must decode to an
 * SSH public key blob that names the same type (RFC 4253 6.6), so a truncated or mixed-up paste is
 * refused here rather than by a failing connection.
 */
export function parseSshHostKey(text: string): string | { readonly problem: string } {
    if (/PRIVATE KEY/.test(text)) return { problem: "is a private key; give the host's public key (never a private one)" };
    const fields = text.trim().split(/\s+/);
    if (fields.length < 2 || /[\r\n]/.test(text.trim())) return { problem: "is not one SSH public key (expected `<type> <base64>`, e.g. a line of ssh-keyscan)" };
    const fromKnownHosts = fields.length >= 3 && !HOST_KEY_TYPES.includes(fields[0] as (typeof HOST_KEY_TYPES)[number]);
    const [type, data] = fromKnownHosts ? [fields[1], fields[2]] : [fields[0], fields[1]];
    if (!HOST_KEY_TYPES.includes(type as (typeof HOST_KEY_TYPES)[number])) return { problem: `has key type ${JSON.stringify(type)}, not one of ${HOST_KEY_TYPES.join(", ")}` };
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data) || data.length % 4 !== 0) return { problem: "is not base64 after the key type" };
    const parts = sshStrings(Buffer.from(data, "base64"));
    const known = type as (typeof HOST_KEY_TYPES)[number];
    const whole = parts && parts.length === 1 + FIELDS[known] && parts[0].toString("latin1") === type && (known !== "ssh-ed25519" || parts[1].length === 32);
    if (!whole) return { problem: `is not a ${type} public key (the base64 does not hold one: truncated or another key's)` };
    return `${type} ${data}`;
}
