/**
 * The whole rendered topology of the dev stack (the lab stack), in network namespaces:
 *
 *          mx.remote.test (Postfix + SPF/DKIM/DMARC verifiers)     dns (named: rendered zones)
 *                              \                                  /
 *   vps 203.0.113.10 ------------------------ isp ------------------------ home 198.51.100.20
 *   HAProxy :25, wg0 hub 10.0.1.1,             (drops tcp/25              wg0 spoke 10.0.1.2, egress,
 *   egress SNAT, firewall                       from the home range)     br-mailu: "Mailu" Postfix
 *
 * Built from `npm run render -- --include-secrets` and the stack's config model; each host in its
 * own network and mount namespace. {@link cleanupLab} removes everything, by PID and name.
 */
import { chmodSync } from "node:fs";
import * as path from "node:path";
import type { Model } from "../../../components/config";
import { devModel } from "../../helpers/stack";
import { Lab } from "../../lab/harness";
import { buildHome, Home } from "./home";
import { buildInternet, Internet } from "./internet";
import { addLabIpv6 } from "./ipv6";
import { ZoneText } from "./named";
import { RenderedStack } from "./rendered";
import { buildVps, Vps } from "./vps";
import { Wireguard } from "./wireguard";

/** The Internet side and the VPS: what mail and web clients out there reach. */
export interface GatewayLab {
    readonly lab: Lab;
    readonly model: Model;
    readonly rendered: RenderedStack;
    readonly internet: Internet;
    readonly vps: Vps;
    readonly wireguard: Wireguard;
}

/** The whole topology: the gateway lab plus the home server. */
export interface MailLab extends GatewayLab {
    readonly home: Home;
}

/** Builds the Internet and the VPS; on any failure it removes what it built and rethrows. */
export function buildGatewayLab(tag: string): GatewayLab {
    const lab = new Lab(tag);
    try {
        // Postfix's unprivileged users must reach their queues, logs and mailboxes below it.
        chmodSync(lab.dir, 0o711);
        const model = devModel();
        const rendered = RenderedStack.render(path.join(lab.dir, "render"));
        const zone = model.cloudflare.zones[0].name;
        const internet = buildInternet(lab, {
            homeWanIp: model.addresses.homeWanIp,
            dnsAddress: nameServerGlue(rendered, zone).address,
            zones: [...model.cloudflare.zones.map((z) => ({ name: z.name, text: rendered.zoneFile(z.name) })), ptrZone(rendered, nameServerGlue(rendered, zone).name)],
        });
        const wireguard = new Wireguard(lab);
        const vps = buildVps(lab, internet, rendered, model, wireguard);
        addLabIpv6(internet, vps.host, model.addresses.vpsPublicIp);
        return { lab, model, rendered, internet, vps, wireguard };
    } catch (err) {
        lab.cleanup();
        throw err;
    }
}

/** Builds the whole topology; on any failure it removes what it built and rethrows. */
export function buildMailLab(tag: string): MailLab {
    const gateway = buildGatewayLab(tag);
    try {
        return { ...gateway, home: buildHome(gateway.lab, gateway.internet, gateway.rendered, gateway.model, gateway.wireguard) };
    } catch (err) {
        gateway.lab.cleanup();
        throw err;
    }
}

/**
 * Removes the lab, writes one line with its wall time (from `startedAt`, ms) and what it left
 * behind, and returns the leftovers (none, or the suite fails).
 */
export function cleanupLab(lab: Lab | undefined, name: string, startedAt: number): string[] {
    lab?.cleanup();
    const left = lab?.leftovers() ?? [];
    process.stderr.write(`${name}: ${((Date.now() - startedAt) / 1000).toFixed(1)} s wall, leftover namespaces: ${left.length ? left.join(" ") : "none"}\n`);
    return left;
}

/** The synthetic NS of a rendered zone file and its address: where the lab's DNS server listens. */
function nameServerGlue(rendered: RenderedStack, zone: string): { name: string; address: string } {
    const text = rendered.zoneFile(zone);
    const ns = new RegExp(`^${zone.replace(/\./g, "\\.")}\\.\\s+\\d+\\s+IN\\s+NS\\s+(\\S+)`, "m").exec(text)?.[1];
    const glue = ns && new RegExp(`^${ns.replace(/\./g, "\\.")}\\s+\\d+\\s+IN\\s+A\\s+(\\S+)`, "m").exec(text)?.[1];
    if (!ns || !glue) throw new Error(`rendered zone ${zone}: no NS with an A glue record`);
    return { name: ns, address: glue };
}

/**
 * The reverse zone with the PTR the README tells the operator to set (stack output `ptr`), served
 * by the lab's one name server (`nameServer`, with its glue in the forward zone), so that its NS can
 * be found like any zone's.
 */
function ptrZone(rendered: RenderedStack, nameServer: string): ZoneText {
    const ptr = rendered.outputs().ptr as { ip: string; name: string } | undefined;
    if (!ptr) throw new Error("the render's outputs.json has no `ptr` (expected from DnsZone)");
    const [a, b, c, d] = ptr.ip.split(".");
    const name = `${c}.${b}.${a}.in-addr.arpa`;
    return {
        name,
        text: [`$ORIGIN ${name}.`, "$TTL 300", `@ IN SOA ${nameServer} hostmaster.invalid. 1 7200 3600 1209600 300`, `@ IN NS ${nameServer}`, `${d} IN PTR ${ptr.name}.`, ""].join("\n"),
    };
}
