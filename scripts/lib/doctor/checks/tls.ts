/**
 * TLS from outside, for the hosts whose certificates the VPS itself serves (Traefik's ACME
 * certificates of `mta-sts.` and `openpgpkey.`): the handshake with SNI, a chain valid for the name
 * (Node's roots plus --ca-file), and the days left (warn < 21, fail < 7: Traefik renews 30 days
 * before expiry, so a certificate this close means renewal is failing).
 */
import type * as net from "node:net";
import * as tls from "node:tls";
import { Check, fail, Finding, ok, warn } from "../check";
import type { DoctorContext } from "../context";
import type { RenderSet } from "../inputs";
import { afterGatewayServices } from "./gateway";
import { needsServersOf } from "./records";

type C = Check<DoctorContext>;

export const EXPIRY_WARN_DAYS = 21;
export const EXPIRY_FAIL_DAYS = 7;

export interface PeerCertificate {
    /** Node's authorization verdict for the chain (null when valid). */
    readonly chainError: string | null;
    /** Name mismatch, if any. */
    readonly nameError: string | null;
    readonly validTo: Date;
    readonly issuer: string;
}

/**
 * Handshakes with `address:port` for `servername`; never rejects the certificate itself (it is judged).
 * With `socket`, TLS starts on that connection (after a STARTTLS dialogue) instead of a new one.
 */
export function peerCertificate(address: string, port: number, servername: string, ca: readonly string[], timeoutMs: number, socket?: net.Socket): Promise<PeerCertificate> {
    return new Promise((resolve, reject) => {
        const secure = tls.connect({ ...(socket ? { socket } : { host: address, port }), servername, ca: [...ca], rejectUnauthorized: false });
        secure.setTimeout(timeoutMs, () => secure.destroy(new Error(`${servername} (${address}:${port}): no TLS handshake in ${timeoutMs} ms`)));
        secure.on("secureConnect", () => {
            const cert = secure.getPeerCertificate();
            const nameError = tls.checkServerIdentity(servername, cert)?.message ?? null;
            const chainError = secure.authorized ? null : String(secure.authorizationError ?? "not authorized");
            secure.end();
            resolve({ chainError, nameError, validTo: new Date(cert.valid_to), issuer: String(cert.issuer?.CN ?? cert.issuer?.O ?? "?") });
        });
        secure.on("error", (err) => reject(new Error(`${servername} (${address}:${port}): ${err.message}`)));
    });
}

/** Judges a handshake's certificate for `host`: a chain that verifies and the name (pure). */
export function certificateFinding(host: string, where: string, cert: PeerCertificate, fix: string): Finding {
    if (cert.chainError) return fail(`${where}: the certificate chain does not verify (${cert.chainError})`, fix);
    if (cert.nameError) return fail(`${where}: ${cert.nameError}`, fix);
    return ok(`issued by ${cert.issuer}, valid for ${host}`);
}

/** Judges a certificate's remaining days (pure: unit-tested). */
export function expiryFinding(host: string, validTo: Date, now: Date, fix: string): Finding {
    const days = Math.floor((validTo.getTime() - now.getTime()) / 86_400_000);
    const detail = `${host}: certificate valid until ${validTo.toISOString().slice(0, 10)} (${days} days left)`;
    if (days < EXPIRY_FAIL_DAYS) return fail(`${detail}: renewal is failing`, fix);
    if (days < EXPIRY_WARN_DAYS) return warn(`${detail}: renewal is late (it happens 30 days before expiry)`, fix);
    return ok(`${days} days left`);
}

/** The names whose TLS the VPS itself terminates (the WKD nginx behind Traefik), sorted. */
export const vpsTlsHosts = (model: Pick<DoctorContext["model"], "domains">): string[] => [...new Set(model.domains.flatMap((d) => [d.mtaStsHost, d.openpgpkeyHost]))].sort();

export function tlsChecks(ctx: Pick<DoctorContext, "model"> & { readonly render?: RenderSet }, opts: { ca: readonly string[] }): C[] {
    const { model } = ctx;
    const hosts = vpsTlsHosts(model);
    const acmeFix = "on the VPS: `docker compose -f /opt/homemail/gateway/compose.yaml logs traefik | grep -i acme` shows why Let's Encrypt refuses (the cf-dns token, CAA, rate limits)";
    return hosts.flatMap((host): C[] => [
        {
            id: `tls.chain:${host}`,
            area: "tls",
            title: `TLS on ${host}:443: handshake and a chain valid for the name`,
            needs: needsServersOf(host, model),
            // Traefik terminates these names' TLS: found down, it explains a failed handshake.
            after: afterGatewayServices(ctx.render, ["traefik"]),
            run: async (c) => {
                const a = await c.dns.query(host, "A");
                if (a.records.length === 0) return fail(`${host} has no A record (${a.rcode})`, `run \`pulumi up\`: it publishes A ${host}`);
                let cert;
                try {
                    cert = await peerCertificate(a.records[0], 443, host, opts.ca, c.timeoutMs);
                } catch (err) {
                    return fail(err instanceof Error ? err.message : String(err), "on the VPS: `docker compose -f /opt/homemail/gateway/compose.yaml ps traefik` (Traefik must listen on 443)");
                }
                c.facts.set(`tls-valid-to:${host}`, cert.validTo.toISOString());
                return certificateFinding(host, host, cert, acmeFix);
            },
        },
        {
            id: `tls.expiry:${host}`,
            area: "tls",
            title: `certificate of ${host} is not about to expire`,
            needs: [`tls.chain:${host}`],
            run: async (c) => expiryFinding(host, new Date(c.facts.get(`tls-valid-to:${host}`)!), new Date(), acmeFix),
        },
    ]);
}
