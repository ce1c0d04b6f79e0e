/**
 * The cleartext dialogues that come before TLS on a STARTTLS port, as a client does them, over a
 * connected socket: SMTP (RFC 3207: banner, EHLO, `STARTTLS` advertised, `STARTTLS` -> 220) and
 * ManageSieve (RFC 5804 1.7/2.2: the greeting's capability list holds `"STARTTLS"`, `STARTTLS` ->
 * `OK`). Each resolves once the server said "go ahead", leaving the socket to the TLS handshake.
 */
import type * as net from "node:net";

/** The server answered, but does not offer STARTTLS (or refused it): a configuration problem, not a network one. */
export class StartTlsRefused extends Error {}

export type StartTlsDialogue = (socket: net.Socket, clientName: string) => Promise<void>;

/**
 * Lines from a socket, one at a time; reading stops at {@link detach}, so the bytes after the
 * server's "go ahead" (none, until the client's ClientHello) are left to TLS.
 */
class LineReader {
    private buffer = "";
    private readonly lines: string[] = [];
    private waiting?: { resolve: (line: string) => void; reject: (err: Error) => void };
    private ended?: Error;
    private readonly onData = (d: Buffer) => {
        this.buffer += d.toString("latin1");
        let nl: number;
        while ((nl = this.buffer.indexOf("\n")) >= 0) {
            this.lines.push(this.buffer.slice(0, nl).replace(/\r$/, ""));
            this.buffer = this.buffer.slice(nl + 1);
        }
        this.wake();
    };
    private readonly onEnd = () => {
        this.ended ??= new Error("the server closed the connection");
        this.wake();
    };
    private readonly onError = (err: Error) => {
        this.ended = err;
        this.wake();
    };

    constructor(private readonly socket: net.Socket) {
        socket.on("data", this.onData);
        socket.on("end", this.onEnd);
        socket.on("close", this.onEnd);
        socket.on("error", this.onError);
    }

    next(): Promise<string> {
        return new Promise((resolve, reject) => {
            this.waiting = { resolve, reject };
            this.wake();
        });
    }

    detach(): void {
        this.socket.off("data", this.onData);
        this.socket.off("end", this.onEnd);
        this.socket.off("close", this.onEnd);
        this.socket.off("error", this.onError);
        this.socket.pause();
    }

    private wake(): void {
        const w = this.waiting;
        if (!w) return;
        if (this.lines.length > 0) {
            this.waiting = undefined;
            w.resolve(this.lines.shift()!);
        } else if (this.ended) {
            this.waiting = undefined;
            w.reject(this.ended);
        }
    }
}

/** One SMTP reply: its code and the text of each line. */
async function smtpReply(lines: LineReader): Promise<{ code: number; text: string[] }> {
    const text: string[] = [];
    for (;;) {
        const line = await lines.next();
        const m = /^(\d{3})([ -])(.*)$/.exec(line);
        if (!m) throw new Error(`not an SMTP reply: ${JSON.stringify(line.slice(0, 80))}`);
        text.push(m[3]);
        if (m[2] === " ") return { code: Number(m[1]), text };
    }
}

export const smtpStartTls: StartTlsDialogue = async (socket, clientName) => {
    const lines = new LineReader(socket);
    try {
        const banner = await smtpReply(lines);
        if (banner.code !== 220) throw new StartTlsRefused(`SMTP banner ${banner.code} ${banner.text.join(" ")}`);
        socket.write(`EHLO ${clientName}\r\n`);
        const ehlo = await smtpReply(lines);
        if (ehlo.code !== 250) throw new StartTlsRefused(`EHLO answered ${ehlo.code} ${ehlo.text.join(" ")}`);
        if (!ehlo.text.slice(1).some((l) => /^STARTTLS\s*$/i.test(l))) throw new StartTlsRefused(`EHLO does not offer STARTTLS (offers ${ehlo.text.slice(1).join(", ")})`);
        socket.write("STARTTLS\r\n");
        const go = await smtpReply(lines);
        if (go.code !== 220) throw new StartTlsRefused(`STARTTLS answered ${go.code} ${go.text.join(" ")}`);
    } finally {
        lines.detach();
    }
};

/** A ManageSieve response line: `OK`, `NO` or `BYE`, optionally with a response code and text. */
const SIEVE_RESPONSE = /^(OK|NO|BYE)\b/i;

export const manageSieveStartTls: StartTlsDialogue = async (socket) => {
    const lines = new LineReader(socket);
    try {
        const capabilities: string[] = [];
        let end: string;
        while (!SIEVE_RESPONSE.test((end = await lines.next()))) capabilities.push(end);
        if (!/^OK\b/i.test(end)) throw new StartTlsRefused(`ManageSieve greeting ends with ${JSON.stringify(end)}`);
        const names = capabilities.map((c) => /^"([^"]*)"/.exec(c)?.[1]?.toUpperCase());
        if (!names.includes("STARTTLS")) throw new StartTlsRefused(`ManageSieve does not offer STARTTLS (capabilities: ${names.filter(Boolean).join(", ")})`);
        socket.write("STARTTLS\r\n");
        const go = await lines.next();
        if (!/^OK\b/i.test(go)) throw new StartTlsRefused(`STARTTLS answered ${JSON.stringify(go)}`);
    } finally {
        lines.detach();
    }
};

/** The dialogue of each STARTTLS service, by the port table's row name (the service's role). */
export const STARTTLS_DIALOGUES: Readonly<Record<string, { readonly protocol: string; readonly dialogue: StartTlsDialogue }>> = {
    smtp: { protocol: "SMTP", dialogue: smtpStartTls },
    sieve: { protocol: "ManageSieve", dialogue: manageSieveStartTls },
};
