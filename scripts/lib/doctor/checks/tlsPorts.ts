/**
 * TLS from outside on every mail port of the port table, as a mail client or a sending MTA meets it
 * on the VPS: the TLS-passthrough port of the `web-secure` entrypoint once per passthrough host (its
 * SNI routes it), every other passthrough port with the mail host's name, and every plain-TCP port
 * whose service has a STARTTLS dialogue (SMTP on 25, ManageSieve on 4190) after that dialogue. The
 * certificates are Mailu's (its keys stay home): chain and name judged as for the VPS's own hosts
 * (tls.ts), then the days left. A port that does not answer fails its handshake check once; its
 * expiry check then says skipped.
 */
import * as net from "node:net";
import type { PortRow } from "../../../../components/config/model";
import { COMPOSE_PATH as GATEWAY_COMPOSE, entrypointName } from "../../../../components/render/gatewayLayout";
import { MAILU_COMPOSE_PATH as MAILU_COMPOSE } from "../../../../components/render/mailu";
import { Check, fail, Finding } from "../check";
import type { DoctorContext } from "../context";
import type { RenderSet } from "../inputs";
import { STARTTLS_DIALOGUES, StartTlsDialogue, StartTlsRefused } from "../starttls";
import { afterGatewayServices } from "./gateway";
import { afterMailuRunning } from "./mailu";
import { needsServersOf } from "./records";
import { certificateFinding, expiryFinding, PeerCertificate, peerCertificate } from "./tls";

type C = Check<DoctorContext>;

/** The name the doctor gives in EHLO. */
const CLIENT_NAME = "doctor.homemail.invalid";

/** One TLS probe: a public port, the name sent as SNI, and the cleartext dialogue first, if any. */
export interface TlsPortProbe {
    readonly row: PortRow;
    readonly sni: string;
    /** `tls.port:<port>` or, on the SNI-routed port, `tls.port:<port>:<host>`. */
    readonly id: string;
    readonly expiryId: string;
    readonly startTls?: { readonly protocol: string; readonly dialogue: StartTlsDialogue };
}

/** Which ports get a TLS probe, and with which name: from the port table and the passthrough hosts (pure). */
export function tlsPortProbes(model: Pick<DoctorContext["model"], "ports" | "passthroughHosts" | "mailHost">): TlsPortProbe[] {
    const probes: TlsPortProbe[] = [];
    for (const row of model.ports) {
        const item = (host?: string) => (host ? `${row.publicPort}:${host}` : String(row.publicPort));
        const probe = (sni: string, host?: string, startTls?: TlsPortProbe["startTls"]): TlsPortProbe => ({ row, sni, id: `tls.port:${item(host)}`, expiryId: `tls.port-expiry:${item(host)}`, ...(startTls ? { startTls } : {}) });
        if (row.mode === "tls-passthrough") {
            // Traefik routes this entrypoint by SNI (traefik.ts): each passthrough host has its own route.
            if (row.process === "traefik" && entrypointName(row) === "web-secure") probes.push(...model.passthroughHosts.map((h) => probe(h, h)));
            else probes.push(probe(model.mailHost));
        } else if (row.mode === "tcp" && STARTTLS_DIALOGUES[row.name]) {
            probes.push(probe(model.mailHost, undefined, STARTTLS_DIALOGUES[row.name]));
        }
    }
    return probes;
}

/** Connects, runs the STARTTLS dialogue if any, and hands the connection to the TLS handshake. */
async function handshake(address: string, p: TlsPortProbe, ca: readonly string[], timeoutMs: number): Promise<PeerCertificate> {
    const port = p.row.publicPort;
    if (!p.startTls) return peerCertificate(address, port, p.sni, ca, timeoutMs);
    const socket = net.connect({ host: address, port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`${address}:${port}: no ${p.startTls!.protocol} reply in ${timeoutMs} ms`)));
    try {
        await new Promise<void>((resolve, reject) => {
            socket.once("connect", resolve);
            socket.once("error", reject);
        });
        await p.startTls.dialogue(socket, CLIENT_NAME);
    } catch (err) {
        socket.destroy();
        if (err instanceof StartTlsRefused) throw err;
        throw new Error(`${p.sni} (${address}:${port}): ${err instanceof Error ? err.message : String(err)}`);
    }
    socket.setTimeout(0);
    return peerCertificate(address, port, p.sni, ca, timeoutMs, socket);
}

/** Where a port that does not answer is broken: the VPS refuses it, or the VPS took it and home did not answer. */
function unreachableFix(p: TlsPortProbe, message: string, model: DoctorContext["model"]): string {
    const { row } = p;
    if (/ECONNREFUSED/.test(message)) return `on the VPS: \`docker compose -f ${GATEWAY_COMPOSE} ps ${row.process}\` (${row.process} must listen on ${row.publicPort}; the firewall must let it in)`;
    return `at home: \`docker compose -f ${MAILU_COMPOSE} ps front\` (Mailu's front must listen on ${model.addresses.wgSpoke}:${row.homePort}${row.proxyV2 ? " expecting PROXY v2" : ""})`;
}

export function tlsPortChecks(ctx: Pick<DoctorContext, "model"> & { readonly render?: RenderSet }, opts: { ca: readonly string[] }): C[] {
    const { model } = ctx;
    const certbotFix = (sni: string) => `at home: \`docker compose -f ${MAILU_COMPOSE} logs front | grep -i certbot\` shows why Mailu's Let's Encrypt certificate for ${sni} is not renewed (http-01 through the VPS's port 80)`;
    return tlsPortProbes(model).flatMap((p): C[] => {
        const port = p.row.publicPort;
        const how = p.startTls ? `${p.startTls.protocol} STARTTLS` : "TLS";
        return [
            {
                id: p.id,
                area: "tls",
                title: `${how} on ${p.sni}:${port}: handshake and a chain valid for the name`,
                needs: needsServersOf(p.sni, model),
                // Through the VPS process that binds the port and the tunnel to Mailu: any of them found down
                // explains a silent port (and no SMTP banner on 25 explains no STARTTLS there).
                after: ["inside.wg:vps", "inside.wg:home", ...afterGatewayServices(ctx.render, [p.row.process]), ...afterMailuRunning(ctx.render), ...(p.startTls === STARTTLS_DIALOGUES.smtp && port === 25 ? ["identity.smtp-banner"] : [])],
                run: async (c): Promise<Finding> => {
                    const a = await c.dns.query(p.sni, "A");
                    if (a.records.length === 0) return fail(`${p.sni} has no A record (${a.rcode})`, `run \`pulumi up\`: it publishes A ${p.sni}`);
                    const where = `${p.sni}:${port}`;
                    let cert;
                    try {
                        cert = await handshake(a.records[0], p, opts.ca, c.timeoutMs);
                    } catch (err) {
                        const message = err instanceof Error ? err.message : String(err);
                        if (err instanceof StartTlsRefused) return fail(`${where}: ${message}`, `Mailu's TLS_FLAVOR must not be notls: run \`pulumi up\` (/opt/homemail/mailu/mailu.env), then at home \`docker compose -f ${MAILU_COMPOSE} up -d\``);
                        return fail(message, unreachableFix(p, message, c.model));
                    }
                    c.facts.set(`tls-valid-to:${p.id}`, cert.validTo.toISOString());
                    return certificateFinding(p.sni, where, cert, certbotFix(p.sni));
                },
            },
            {
                id: p.expiryId,
                area: "tls",
                title: `certificate on ${p.sni}:${port} is not about to expire`,
                needs: [p.id],
                run: async (c) => expiryFinding(`${p.sni}:${port}`, new Date(c.facts.get(`tls-valid-to:${p.id}`)!), new Date(), certbotFix(p.sni)),
            },
        ];
    });
}
