/**
 * The Web Key Directory hash of a mail address's local part (draft-koch-openpgp-webkey-service,
 * section 3.1): ASCII upper-case letters mapped to lower case (other characters unchanged), SHA-1 of
 * the UTF-8 bytes, encoded with z-base-32 (RFC 6189, section 5.1.6): always 32 characters.
 *
 * Pure: no I/O, no clock. Checked against `gpg-wks-client --print-wkd-hash` in tests/tools.
 */
import { createHash } from "node:crypto";

/** The z-base-32 alphabet (RFC 6189, section 5.1.6). */
const ZBASE32 = "ybndrfg8ejkmcpqxot1uwisza345h769";

/**
 * Encodes bytes in z-base-32, 5 bits a character, most significant bit first; a final partial group
 * is padded with zero bits. 20 bytes (160 bits) give exactly 32 characters.
 */
export function zBase32(bytes: Uint8Array): string {
    let out = "";
    let buffer = 0;
    let bits = 0;
    for (const byte of bytes) {
        buffer = ((buffer << 8) | byte) & 0xffff;
        bits += 8;
        while (bits >= 5) {
            out += ZBASE32[(buffer >> (bits - 5)) & 0x1f];
            bits -= 5;
        }
    }
    if (bits > 0) out += ZBASE32[(buffer << (5 - bits)) & 0x1f];
    return out;
}

/**
 * Maps only ASCII `A`-`Z` to lower case, as the WKD draft and GnuPG do (`JÖRG` becomes `jÖrg`, not
 * `jörg`); `String.prototype.toLowerCase` would also fold non-ASCII letters and give another hash.
 */
export function asciiLowercase(s: string): string {
    return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** The 32-character WKD hash of a local part (the part of the address before the last `@`). */
export function wkdHash(localPart: string): string {
    const digest = createHash("sha1").update(asciiLowercase(localPart), "utf8").digest();
    return zBase32(digest);
}

/** Splits an address at its last `@`; throws on a string without a non-empty local and domain part. */
export function splitAddress(address: string): { localPart: string; domain: string } {
    const at = address.lastIndexOf("@");
    if (at <= 0 || at === address.length - 1) throw new Error(`not a mail address: ${JSON.stringify(address)}`);
    return { localPart: address.slice(0, at), domain: address.slice(at + 1) };
}

/**
 * The advanced-method WKD URL of an address: `https://openpgpkey.<domain>/.well-known/openpgpkey/
 * <domain>/hu/<hash>?l=<local part>`. The domain is lower-cased (DNS is case-insensitive); the `l`
 * parameter carries the local part percent-escaped, lower-cased like the hash input, as gpg sends it.
 */
export function wkdUrl(address: string): string {
    const { localPart, domain } = splitAddress(address);
    const d = asciiLowercase(domain);
    return `https://openpgpkey.${d}${wkdPath(d, localPart)}?l=${encodeURIComponent(asciiLowercase(localPart))}`;
}

/** The path part of the advanced-method URL (no query): `/.well-known/openpgpkey/<domain>/hu/<hash>`. */
export function wkdPath(domain: string, localPart: string): string {
    return `/.well-known/openpgpkey/${asciiLowercase(domain)}/hu/${wkdHash(localPart)}`;
}
