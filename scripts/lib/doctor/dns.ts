/**
 * DNS asked of a zone's authoritative servers (RD=0, raw packets via dns-packet over UDP, TCP when
 * truncated), never a cache: what Cloudflare really serves. Which servers: `--dns-server` when given,
 * otherwise the zone's NS (found through the system resolver, which is only used to find them).
 * Answers are normalised to presentation strings so checks compare text with the render's records.
 */
import * as dgram from "node:dgram";
import { promises as systemDns } from "node:dns";
import * as net from "node:net";
import * as packet from "dns-packet";

export type QueryType = "A" | "AAAA" | "TXT" | "MX" | "SRV" | "CAA" | "PTR" | "NS" | "SOA" | "DS";

export interface DnsAnswer {
    /** NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... */
    readonly rcode: string;
    /** Answer records of the asked type, in presentation form (names lowercase, no trailing dot). */
    readonly records: readonly string[];
    /** `addr:port` that answered. */
    readonly server: string;
    /** The AA bit: the server answered for its own zone. */
    readonly authoritative: boolean;
}

const noDot = (n: string) => n.replace(/\.$/, "").toLowerCase();

/** One answer record as text, as records.json's content would read. */
export function presentation(a: packet.Answer): string | undefined {
    switch (a.type) {
        case "A":
        case "AAAA":
            return String(a.data);
        case "NS":
        case "PTR":
        case "CNAME":
            return noDot(String(a.data));
        case "TXT": {
            const parts = Array.isArray(a.data) ? a.data : [a.data];
            return parts.map((p) => (Buffer.isBuffer(p) ? p.toString("utf8") : String(p))).join("");
        }
        case "MX":
            return `${a.data.preference} ${noDot(a.data.exchange)}`;
        case "SRV":
            return `${a.data.priority ?? 0} ${a.data.weight ?? 0} ${a.data.port} ${a.data.target === "." || a.data.target === "" ? "." : noDot(a.data.target)}`;
        case "CAA":
            return `${a.data.flags ?? 0} ${a.data.tag} "${a.data.value}"`;
        case "SOA":
            return `${noDot(a.data.mname)} ${noDot(a.data.rname)} ${a.data.serial}`;
        case "DS":
            return `${a.data.keyTag} ${a.data.algorithm} ${a.data.digestType} ${a.data.digest.toString("hex").toUpperCase()}`;
        default:
            return undefined;
    }
}

function parseServer(s: string): { host: string; port: number } {
    const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
    if (bracket) return { host: bracket[1], port: Number(bracket[2] ?? 53) };
    const v4 = /^([0-9.]+)(?::(\d+))?$/.exec(s);
    if (v4) return { host: v4[1], port: Number(v4[2] ?? 53) };
    return { host: s, port: 53 };
}

function decodeAnswer(buf: Buffer, name: string, type: QueryType, server: string): DnsAnswer {
    const res = packet.decode(buf);
    const flags = res.flags ?? 0;
    const rcode = (res as { rcode?: string }).rcode ?? "NOERROR";
    const records = (res.answers ?? [])
        .filter((a) => a.type === type && noDot(a.name) === noDot(name))
        .map(presentation)
        .filter((x): x is string => x !== undefined)
        .sort();
    return { rcode, records, server, authoritative: (flags & packet.AUTHORITATIVE_ANSWER) !== 0 };
}

let nextId = 1;

function udpQuery(host: string, port: number, query: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const socket = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
        const timer = setTimeout(() => {
            socket.close();
            reject(new Error(`no answer from ${host}:${port} in ${timeoutMs} ms`));
        }, timeoutMs);
        socket.on("message", (msg) => {
            clearTimeout(timer);
            socket.close();
            resolve(msg);
        });
        socket.on("error", (err) => {
            clearTimeout(timer);
            socket.close();
            reject(err);
        });
        socket.send(query, port, host);
    });
}

function tcpQuery(host: string, port: number, query: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const socket = net.connect({ host, port });
        let data = Buffer.alloc(0);
        socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer from ${host}:${port}/tcp in ${timeoutMs} ms`)));
        socket.on("connect", () => {
            const len = Buffer.alloc(2);
            len.writeUInt16BE(query.length);
            socket.write(Buffer.concat([len, query]));
        });
        socket.on("data", (d) => {
            data = Buffer.concat([data, d]);
            if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
                socket.end();
                resolve(data.subarray(2, 2 + data.readUInt16BE(0)));
            }
        });
        socket.on("error", reject);
    });
}

/** One question to one server (no recursion asked): the response message as it came off the wire. */
export async function askRaw(server: string, name: string, type: QueryType, timeoutMs: number): Promise<Buffer> {
    const { host, port } = parseServer(server);
    const id = nextId++ % 65536;
    const query = packet.encode({ type: "query", id, flags: 0, questions: [{ type, name, class: "IN" }] });
    const buf = await udpQuery(host, port, query, timeoutMs);
    if (((packet.decode(buf).flags ?? 0) & packet.TRUNCATED_RESPONSE) !== 0) return tcpQuery(host, port, query, timeoutMs);
    return buf;
}

/** One question to one server (no recursion asked). */
export async function ask(server: string, name: string, type: QueryType, timeoutMs: number): Promise<DnsAnswer> {
    const { host, port } = parseServer(server);
    return decodeAnswer(await askRaw(server, name, type, timeoutMs), name, type, `${host}:${port}`);
}

export interface DnsOptions {
    /** Fixed servers for every question (`--dns-server`); empty = each zone's NS. */
    readonly servers: readonly string[];
    /** The stack's zones (longest suffix wins); names outside them: their zone is looked up. */
    readonly zones: readonly string[];
    readonly timeoutMs: number;
}

/** Authoritative DNS: finds the zone's servers once and asks them. */
export class AuthoritativeDns {
    private readonly serverCache = new Map<string, Promise<string[]>>();

    constructor(private readonly opts: DnsOptions) {}

    /** The zone `name` is in: a stack zone, or (outside them) the closest enclosing zone with NS. */
    async zoneOf(name: string): Promise<string> {
        const n = noDot(name);
        const own = [...this.opts.zones].sort((a, b) => b.length - a.length).find((z) => n === z || n.endsWith(`.${z}`));
        if (own) return own;
        if (n === "" || n === ".") return ".";
        const labels = n.split(".");
        for (let i = 0; i < labels.length; i++) {
            const candidate = labels.slice(i).join(".");
            if (this.opts.servers.length > 0) {
                // Ask the fixed servers for the SOA: the zone that answers with AA for it.
                const soa = await this.ask(this.opts.servers, candidate, "SOA").catch(() => undefined);
                if (soa && soa.records.length > 0) return candidate;
            } else {
                const ns = await systemDns.resolveNs(candidate).catch(() => [] as string[]);
                if (ns.length > 0) return candidate;
            }
        }
        throw new Error(`no zone with name servers encloses ${n}`);
    }

    /** The servers to ask about names in `zone`. */
    serversOf(zone: string): Promise<string[]> {
        if (this.opts.servers.length > 0) return Promise.resolve([...this.opts.servers]);
        let cached = this.serverCache.get(zone);
        if (!cached) {
            cached = (async () => {
                const names = await systemDns.resolveNs(zone).catch((err: NodeJS.ErrnoException) => {
                    throw new Error(`cannot find the name servers of ${zone} (${err.code ?? err.message}); give --dns-server ADDR`);
                });
                const addresses = (await Promise.all(names.sort().map((ns) => systemDns.resolve4(ns).catch(() => [] as string[])))).flat();
                if (addresses.length === 0) throw new Error(`the name servers of ${zone} (${names.join(", ")}) have no IPv4 address; give --dns-server ADDR`);
                return addresses;
            })();
            this.serverCache.set(zone, cached);
        }
        return cached;
    }

    private async ask(servers: readonly string[], name: string, type: QueryType): Promise<DnsAnswer> {
        const errors: string[] = [];
        for (const s of servers) {
            try {
                return await ask(s, name, type, this.opts.timeoutMs);
            } catch (err) {
                errors.push(err instanceof Error ? err.message : String(err));
            }
        }
        throw new Error(`${type} ${name}: ${errors.join("; ")}`);
    }

    /** Asks the authoritative servers of `zone` (not necessarily `name`'s own: the parent, for a DS). */
    async queryAt(zone: string, name: string, type: QueryType): Promise<DnsAnswer> {
        return this.ask(await this.serversOf(zone), noDot(name), type);
    }

    /** Asks the authoritative servers of `name`'s zone. */
    async query(name: string, type: QueryType): Promise<DnsAnswer> {
        const zone = await this.zoneOf(name);
        return this.ask(await this.serversOf(zone), noDot(name), type);
    }

    /**
     * A resolver in node:dns's shape for mailauth (SPF, MTA-STS): authoritative answers; an empty
     * answer is ENODATA, NXDOMAIN is ENOTFOUND, as mailauth expects from dns.promises.resolve.
     */
    resolver(): (name: string, type: string) => Promise<unknown[]> {
        return async (name, type) => {
            const t = type.toUpperCase() as QueryType;
            const answer = await this.query(name, t);
            const fail = (code: string) => Object.assign(new Error(`${code} ${name} ${t}`), { code });
            if (answer.rcode === "NXDOMAIN") throw fail("ENOTFOUND");
            if (answer.rcode !== "NOERROR") throw fail(answer.rcode === "REFUSED" ? "EREFUSED" : "ESERVFAIL");
            if (answer.records.length === 0) throw fail("ENODATA");
            switch (t) {
                case "TXT":
                    return answer.records.map((r) => [r]);
                case "MX":
                    return answer.records.map((r) => ({ priority: Number(r.split(" ")[0]), exchange: r.split(" ")[1] }));
                default:
                    return [...answer.records];
            }
        };
    }
}
