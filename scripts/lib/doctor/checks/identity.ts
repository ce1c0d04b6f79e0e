/**
 * Sender identity, as a receiving MTA judges it: the PTR of the VPS IP names the mail host, the mail
 * host's A is the VPS IP (forward-confirmed reverse DNS), and the SMTP server on VPS:25 greets and
 * answers EHLO with the mail host's name.
 */
import * as net from "node:net";
import { Check, fail, ok } from "../check";
import type { DoctorContext } from "../context";
import type { RenderSet } from "../inputs";
import { afterGatewayServices } from "./gateway";
import { afterMailuRunning } from "./mailu";
import { needsServersOf } from "./records";

type C = Check<DoctorContext>;

export const reverseName = (ip: string) => `${ip.split(".").reverse().join(".")}.in-addr.arpa`;

/** Reads an SMTP dialogue: the banner, then EHLO's reply lines. */
export function smtpGreeting(host: string, port: number, ehloName: string, timeoutMs: number): Promise<{ banner: string; ehlo: string[] }> {
    return new Promise((resolve, reject) => {
        const socket = net.connect({ host, port });
        let buffer = "";
        let banner: string | undefined;
        const ehlo: string[] = [];
        socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`${host}:${port}: no SMTP reply in ${timeoutMs} ms`)));
        socket.on("data", (d: Buffer) => {
            buffer += d.toString("latin1");
            let nl: number;
            while ((nl = buffer.indexOf("\n")) >= 0) {
                const line = buffer.slice(0, nl).replace(/\r$/, "");
                buffer = buffer.slice(nl + 1);
                if (banner === undefined) {
                    if (/^\d{3}-/.test(line)) continue; // multi-line banner: its last line counts
                    banner = line;
                    if (!line.startsWith("220")) {
                        socket.end();
                        return resolve({ banner, ehlo });
                    }
                    socket.write(`EHLO ${ehloName}\r\n`);
                } else {
                    ehlo.push(line);
                    if (/^\d{3} /.test(line)) {
                        socket.end("QUIT\r\n");
                        return resolve({ banner, ehlo });
                    }
                }
            }
        });
        socket.on("error", reject);
        socket.on("end", () => banner === undefined && reject(new Error(`${host}:${port} closed the connection before its banner`)));
    });
}

export function identityChecks(ctx: Pick<DoctorContext, "model"> & { readonly render?: RenderSet }): C[] {
    const { model } = ctx;
    return [
        {
            id: "identity.ptr",
            area: "identity",
            title: "PTR of the VPS IP is the mail host",
            run: async (c) => {
                const { vpsPublicIp } = c.model.addresses;
                const fix = `at your VPS provider, set the reverse DNS (PTR) of ${vpsPublicIp} to ${c.model.mailHost}`;
                let a;
                try {
                    a = await c.dns.query(reverseName(vpsPublicIp), "PTR");
                } catch (err) {
                    return fail(`cannot ask the reverse zone of ${vpsPublicIp}: ${err instanceof Error ? err.message : String(err)}`, `${fix} (to ask a given server: --dns-server ADDR)`);
                }
                if (a.records.length === 0) return fail(`${vpsPublicIp} has no PTR (${a.rcode}): receivers distrust mail from it`, fix);
                if (a.records.length > 1 || a.records[0] !== c.model.mailHost) return fail(`PTR of ${vpsPublicIp} is ${a.records.join(", ")}, not ${c.model.mailHost}`, fix);
                return ok(`${vpsPublicIp} -> ${c.model.mailHost}`);
            },
        },
        {
            id: "identity.a",
            area: "identity",
            title: "A of the mail host is the VPS IP",
            needs: needsServersOf(model.mailHost, model),
            run: async (c) => {
                const { vpsPublicIp } = c.model.addresses;
                const a = await c.dns.query(c.model.mailHost, "A");
                const fix = `run \`pulumi up\`: it sets A ${c.model.mailHost} to ${vpsPublicIp}`;
                if (a.records.length === 0) return fail(`${c.model.mailHost} has no A record (${a.rcode})`, fix);
                if (a.records.length > 1 || a.records[0] !== vpsPublicIp) {
                    const extra = a.records.filter((x) => x !== vpsPublicIp);
                    return fail(`A ${c.model.mailHost} is ${a.records.join(", ")}, not only ${vpsPublicIp}`, a.records.includes(vpsPublicIp) ? `delete the A record ${extra.join(", ")} at ${c.model.mailHost} in Cloudflare` : fix);
                }
                return ok(`${c.model.mailHost} -> ${vpsPublicIp}`);
            },
        },
        {
            id: "identity.smtp-banner",
            area: "identity",
            title: "SMTP on VPS:25 greets as the mail host",
            // Through the VPS process on 25 and the tunnel to Mailu: any of them found down explains a silent port 25.
            after: ["inside.wg:vps", "inside.wg:home", ...afterGatewayServices(ctx.render, model.ports.filter((p) => p.publicPort === 25).map((p) => p.process)), ...afterMailuRunning(ctx.render)],
            run: async (c) => {
                const { vpsPublicIp } = c.model.addresses;
                const fix = `Mailu's HOSTNAMES must start with ${c.model.mailHost}: run \`pulumi up\` (mailu.env)`;
                let dialogue;
                try {
                    dialogue = await smtpGreeting(vpsPublicIp, 25, "doctor.homemail.invalid", c.timeoutMs);
                } catch (err) {
                    return fail(`no SMTP banner on ${vpsPublicIp}:25: ${err instanceof Error ? err.message : String(err)}`, "on the VPS: `docker compose -f /opt/homemail/gateway/compose.yaml ps haproxy`; at home: `docker compose -f /opt/homemail/mailu/compose.yaml ps front`");
                }
                const bannerHost = /^220[ -](\S+)/.exec(dialogue.banner)?.[1]?.toLowerCase();
                if (bannerHost !== c.model.mailHost) return fail(`banner of ${vpsPublicIp}:25 is ${JSON.stringify(dialogue.banner)}, not ${c.model.mailHost}`, fix);
                const ehloHost = /^250[ -](\S+)/.exec(dialogue.ehlo[0] ?? "")?.[1]?.toLowerCase();
                if (ehloHost !== c.model.mailHost) return fail(`EHLO on ${vpsPublicIp}:25 answers ${JSON.stringify(dialogue.ehlo[0] ?? "")}, not ${c.model.mailHost}`, fix);
                return ok(`220 and EHLO as ${c.model.mailHost}`);
            },
        },
    ];
}
