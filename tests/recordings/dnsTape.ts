/**
 * DNS on tape: a recording proxy (loopback UDP, forwards each question to one upstream server and
 * keeps the raw response message) and a replay server (answers each question with the recorded
 * message, only the ID changed). The doctor's own code talks to either, so a recording made on the
 * lab replays into exactly the code paths it exercised there.
 */
import * as dgram from "node:dgram";
import * as packet from "dns-packet";

/** One question and the response message its server sent, as it came off the wire. */
export interface Exchange {
    /** Lowercase, no trailing dot. */
    readonly name: string;
    readonly type: string;
    /** The response message, base64. */
    readonly response: string;
}

const key = (name: string, type: string) => `${name.toLowerCase().replace(/\.$/, "")} ${type}`;

function question(msg: Buffer): { id: number; name: string; type: string } | undefined {
    try {
        const q = packet.decode(msg);
        const first = q.questions?.[0];
        return first ? { id: q.id ?? 0, name: first.name, type: first.type } : undefined;
    } catch {
        return undefined;
    }
}

export interface TapeServer {
    /** `127.0.0.1:PORT`, for `--dns-server` and resolvers' setServers. */
    readonly address: string;
    close(): Promise<void>;
}

function listen(onMessage: (socket: dgram.Socket, msg: Buffer, from: dgram.RemoteInfo) => void): Promise<{ socket: dgram.Socket; address: string }> {
    return new Promise((resolve, reject) => {
        const socket = dgram.createSocket("udp4");
        socket.on("message", (msg, from) => onMessage(socket, msg, from));
        socket.once("error", reject);
        socket.bind(0, "127.0.0.1", () => resolve({ socket, address: `127.0.0.1:${socket.address().port}` }));
    });
}

const closer = (socket: dgram.Socket) => () => new Promise<void>((resolve) => socket.close(() => resolve()));

/** Forwards every question to `upstream` (`ADDR:PORT`) and appends each exchange to `tape`. */
export async function recordingProxy(upstream: string, tape: Exchange[], timeoutMs = 3000): Promise<TapeServer> {
    const [host, port] = upstream.split(":");
    const { socket, address } = await listen((server, msg, from) => {
        const q = question(msg);
        const out = dgram.createSocket("udp4");
        const timer = setTimeout(() => out.close(), timeoutMs);
        out.on("message", (response) => {
            clearTimeout(timer);
            out.close();
            if (q) tape.push({ name: q.name.toLowerCase().replace(/\.$/, ""), type: q.type, response: response.toString("base64") });
            server.send(response, from.port, from.address);
        });
        out.send(msg, Number(port ?? 53), host);
    });
    return { address, close: closer(socket) };
}

/**
 * Answers from `tape` (the last exchange of a question wins, as the last answer was the one the
 * check saw). A question not on the tape gets REFUSED and is listed in `misses`: a replay that
 * asks something new means the recording is out of date.
 */
export async function replayServer(tape: readonly Exchange[], misses: string[]): Promise<TapeServer> {
    const byQuestion = new Map(tape.map((e) => [key(e.name, e.type), Buffer.from(e.response, "base64")]));
    const { socket, address } = await listen((server, msg, from) => {
        const q = question(msg);
        if (!q) return;
        const recorded = byQuestion.get(key(q.name, q.type));
        let reply: Buffer;
        if (recorded) {
            reply = Buffer.from(recorded);
            reply.writeUInt16BE(q.id, 0);
        } else {
            misses.push(key(q.name, q.type));
            reply = packet.encode({ type: "response", id: q.id, flags: packet.RECURSION_DESIRED | 5, questions: [{ name: q.name, type: q.type as packet.RecordType, class: "IN" }] });
        }
        server.send(reply, from.port, from.address);
    });
    return { address, close: closer(socket) };
}
