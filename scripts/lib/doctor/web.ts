/**
 * HTTPS as a sending MTA or a WKD client does it: the host's address from its authoritative DNS,
 * TLS with SNI and the certificate checked for the name against Node's roots plus `--ca-file`.
 */
import { readFileSync } from "node:fs";
import * as https from "node:https";
import * as tls from "node:tls";
import type { AuthoritativeDns } from "./dns";

export interface HttpsResponse {
    readonly status: number;
    readonly body: Buffer;
    readonly contentType: string;
}

/** GET `https://<host><path>`; rejects on a network or TLS error (the message says which). */
export type HttpsFetch = (host: string, path: string) => Promise<HttpsResponse>;

export function trustedCas(caFile: string | undefined): string[] {
    return caFile ? [...tls.rootCertificates, readFileSync(caFile, "utf8")] : [...tls.rootCertificates];
}

export function httpsFetcher(dns: AuthoritativeDns, ca: readonly string[], timeoutMs: number): HttpsFetch {
    return async (host, path) => {
        const a = await dns.query(host, "A");
        if (a.records.length === 0) throw new Error(`${host} has no A record (${a.rcode})`);
        return new Promise<HttpsResponse>((resolve, reject) => {
            const req = https.request(
                { host: a.records[0], servername: host, port: 443, path, method: "GET", headers: { Host: host, "User-Agent": "homemail-doctor" }, ca: [...ca], timeout: timeoutMs, agent: false },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c: Buffer) => chunks.push(c));
                    res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), contentType: String(res.headers["content-type"] ?? "") }));
                    res.on("error", reject);
                },
            );
            req.on("timeout", () => req.destroy(new Error(`https://${host}${path}: no answer in ${timeoutMs} ms`)));
            req.on("error", (err: NodeJS.ErrnoException) => reject(new Error(`https://${host}${path} (${a.records[0]}): ${err.code ?? ""} ${err.message}`.replace(/\s+/g, " "))));
            req.end();
        });
    };
}
