/**
 * Checks on every string of the config, before any other rule: object keys and values at every
 * depth, secrets included (a secret's value is never repeated in a message).
 *
 * - The secret placeholder syntax `@@HOMEMAIL_SECRET(` (components/render/hostFile.ts) is refused,
 *   so plain text can never be filled with a secret where a renderer did not put one.
 * - Control characters (C0, DEL, C1), lone surrogates and the noncharacters U+FFFE/U+FFFF break the
 *   files they land in (Mailu's YAML import, env files, wg0.conf); only armored keys keep newlines.
 * - Lengths are bounded: nothing homemail writes needs a megabyte in one value.
 */
import type { ProblemList } from "../errors";

export const SECRET_PLACEHOLDER_OPENING = "@@HOMEMAIL_SECRET(";

interface TextRule {
    /** Matched against `name` + path: `users[0].displayName`. */
    readonly match: RegExp;
    readonly maxLength: number;
    readonly multiline: boolean;
}

/** An address is at most 254 characters, a hostname 253; passwords and paths fit in 1024. */
const DEFAULT_RULE: TextRule = { match: /^/, maxLength: 1024, multiline: false };
const RULES: readonly TextRule[] = [
    { match: /^users\[\d+\]\.openpgpPublicKey$/, maxLength: 256 * 1024, multiline: true },
    // Mailu 2024.06 keeps the display name in `user.displayed_name`, a VARCHAR(160).
    { match: /^users\[\d+\]\.displayName$/, maxLength: 160, multiline: false },
    { match: /^(vps|home)SshPrivateKey$/, maxLength: 16 * 1024, multiline: true },
];

// C0 controls except LF, CR and TAB are always wrong; those three only in multi-line values.
// eslint-disable-next-line no-control-regex
const ALWAYS_BAD = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LINE_BREAKS = /[\r\n\t]/;

function codePoint(s: string): string {
    return `U+${(s.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** One problem for the first thing wrong with `text` (a value or an object key), or none. */
export function checkText(problems: ProblemList, where: string, path: string, text: string, secret: boolean): void {
    const rule = RULES.find((r) => r.match.test(path)) ?? DEFAULT_RULE;
    const bad = ALWAYS_BAD.exec(text) ?? (rule.multiline ? null : LINE_BREAKS.exec(text));
    const shown = secret ? "the secret value" : "the value";
    if (text.includes(SECRET_PLACEHOLDER_OPENING)) {
        problems.add(where, `${shown} contains "${SECRET_PLACEHOLDER_OPENING}", homemail's secret placeholder syntax`, "remove it; secrets go only into homemail's own secret keys");
    } else if (bad) {
        problems.add(where, `${shown} contains the character ${codePoint(bad[0])} (${rule.multiline ? "a control character" : "control characters and line breaks are not allowed here"})`, "remove it (check for a pasted line break or a stray byte)");
    } else if (text.length > rule.maxLength) {
        problems.add(where, `${shown} is ${text.length} characters long, more than the ${rule.maxLength} allowed`, `shorten it to at most ${rule.maxLength} characters`);
    }
}

/** {@link checkText} on every string and object key inside a decoded value. */
export function checkAllText(problems: ProblemList, fullKey: string, name: string, value: unknown, secret: boolean, path = ""): void {
    if (typeof value === "string") checkText(problems, fullKey + path, name + path, value, secret);
    else if (Array.isArray(value)) value.forEach((v, i) => checkAllText(problems, fullKey, name, v, secret, `${path}[${i}]`));
    else if (value && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) {
            const child = /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
            checkText(problems, fullKey + child, name + child, k, secret);
            checkAllText(problems, fullKey, name, v, secret, child);
        }
    }
}
