/** Test messages: written once with a unique Message-ID, read back from a mailbox. */
import { randomBytes } from "node:crypto";

export interface TestMessage {
    readonly messageId: string;
    readonly subject: string;
    /** RFC 5322 text. */
    readonly text: string;
}

/** A small plain-text message from `from` to `to` with a Message-ID no other test uses. */
export function testMessage(from: string, to: string, purpose: string): TestMessage {
    const messageId = `e2e-${randomBytes(6).toString("hex")}@${from.split("@")[1]}`;
    const subject = `homemail e2e: ${purpose}`;
    const text = [
        `From: ${from}`,
        `To: ${to}`,
        `Subject: ${subject}`,
        `Date: ${new Date().toUTCString().replace("GMT", "+0000")}`,
        `Message-ID: <${messageId}>`,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        `This message checks that ${purpose}.`,
        "",
    ].join("\r\n");
    return { messageId, subject, text };
}

/** The values of a header field (all occurrences, top first), unfolded. */
export function headerValues(message: string, name: string): string[] {
    const head = message.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, " ");
    const prefix = `${name.toLowerCase()}:`;
    return head
        .split(/\r?\n/)
        .filter((l) => l.toLowerCase().startsWith(prefix))
        .map((l) => l.slice(prefix.length).trim());
}

/**
 * The verdicts of one receiver's Authentication-Results fields (RFC 8601), by method:
 * `{ dkim: "pass", dmarc: "pass" }`. Fields of other authserv-ids are ignored, as a receiver must.
 */
export function authenticationResults(message: string, authservId: string): Record<string, string> {
    const verdicts: Record<string, string> = {};
    for (const field of headerValues(message, "Authentication-Results")) {
        const [id, ...results] = field.split(";").map((s) => s.trim());
        if (id.split(/\s+/)[0] !== authservId) continue;
        for (const r of results) {
            const m = /^([a-z0-9-]+)=([a-z]+)/i.exec(r);
            if (m) verdicts[m[1].toLowerCase()] = m[2].toLowerCase();
        }
    }
    return verdicts;
}
