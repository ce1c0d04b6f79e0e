/**
 * Exposure: on the VPS's IPv6 nothing but SSH and WireGuard answers. The gateway firewall
 * (assets/gateway/firewall.sh) mirrors its chain into ip6tables admitting only the SSH port and
 * the WireGuard UDP port, because Traefik, HAProxy and the WKD nginx are meant for IPv4 only and a
 * VPS image's global IPv6 would otherwise reach every listener bound on [::].
 *
 * The addresses: `homemail:vps.publicIpv6` when configured, plus the VPS's own global unicast
 * addresses (`ip -6 -o addr show scope global`, read-only over SSH). From where the doctor runs,
 * TCP connects to every public port of the port table and the WKD nginx's port must be refused or
 * time out. A machine with no IPv6 route to them cannot tell: a warn, never an ok.
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import * as ipaddr from "ipaddr.js";
import type { Model } from "../../../../components/config";
import { Check, fail, Finding, ok, warn } from "../check";
import type { DoctorContext } from "../context";
import { FIREWALL_SCRIPT } from "./inside";

type C = Check<DoctorContext>;

/** A TCP port that must not answer on the VPS's IPv6, and what it is. */
export interface ExposedPort {
    readonly port: number;
    readonly role: string;
}

/** What a TCP connect from here found. */
export type Outcome = "open" | "refused" | "timeout" | "unreachable";

export interface Probe {
    readonly address: string;
    readonly port: number;
    readonly role: string;
    readonly outcome: Outcome;
}

/** The firewall's chain, also in ip6tables (components/render/gateway.ts FIREWALL_CHAIN). */
const CHAIN = "HOMEMAIL-IN";
/**
 * Longest wait for a SYN answer (all ports at once, so one wait per run: a dropped SYN is the
 * firewall's normal answer). 2 s covers the kernel's first SYN retransmission (at 1 s) plus a
 * round trip under 1 s: one lost SYN does not make an open port look silent.
 */
export const PROBE_TIMEOUT_MS = 2000;

/**
 * Every TCP port a client could reach on the VPS that IPv6 must not offer: each public port of the
 * port table and the WKD/MTA-STS nginx's (loopback by design), by role; the SSH port may answer.
 */
export function exposedPorts(model: Pick<Model, "ports" | "addresses" | "vps">): ExposedPort[] {
    const ports = new Map<number, string>();
    for (const row of model.ports) if (row.protocol === "tcp") ports.set(row.publicPort, row.name);
    if (!ports.has(model.addresses.wkdListen.port)) ports.set(model.addresses.wkdListen.port, "wkd-nginx");
    ports.delete(model.vps.ssh.port);
    return [...ports].map(([port, role]) => ({ port, role })).sort((a, b) => a.port - b.port);
}

/** Global unicast (2000::/3) addresses in `ip -6 -o addr show scope global` output, canonical form. */
export function globalIpv6Addresses(ipOutput: string): string[] {
    const found: string[] = [];
    for (const m of ipOutput.matchAll(/\binet6\s+([0-9a-fA-F:]+)\/\d+/g)) {
        if (!ipaddr.IPv6.isValid(m[1])) continue;
        const ip = ipaddr.IPv6.parse(m[1]);
        if (ip.match(ipaddr.IPv6.parseCIDR("2000::/3"))) found.push(ip.toString());
    }
    return found;
}

/** The configured address first, then the VPS's own, each once. */
export function vpsIpv6Targets(configured: string | undefined, onVps: readonly string[]): string[] {
    return [...new Set([...(configured ? [ipaddr.IPv6.parse(configured).toString()] : []), ...onVps])];
}

/**
 * `ip6tables -S INPUT` rules above the jump to the homemail chain that accept (another tool's
 * `-I INPUT`): they admit traffic before the firewall's chain sees it, and `verify` cannot tell.
 */
export function acceptsAboveChain(ip6tablesInput: string): string[] {
    const rules = ip6tablesInput.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("-A INPUT "));
    const jump = rules.findIndex((r) => new RegExp(`-j ${CHAIN}(\\s|$)`).test(r));
    return rules.slice(0, jump < 0 ? rules.length : jump).filter((r) => /-j ACCEPT(\s|$)/.test(r));
}

export interface ExposureFacts {
    readonly stack: string;
    /** The configured address and the VPS's own. */
    readonly addresses: readonly string[];
    /** Addresses this machine has no IPv6 route to (nothing was sent to them). */
    readonly unroutable: readonly string[];
    /** The ports every routable address was probed on. */
    readonly ports: readonly ExposedPort[];
    readonly probes: readonly Probe[];
    readonly sshPort: number;
    /**
     * The SSH port on each probed address: the firewall admits it, so it answers or refuses when
     * the IPv6 path works. Silent too means this machine's IPv6 goes nowhere: no verdict.
     */
    readonly controls: readonly { readonly address: string; readonly outcome: Outcome }[];
    readonly firewall: boolean;
    /** `ip6tables -S INPUT` on the VPS, read only when something answered. */
    readonly ip6tablesInput?: string;
    /** Why the VPS's own addresses are unknown (ssh `ip` failed), if so. */
    readonly listProblem?: string;
}

/** Judges the probes (pure: unit-tested). */
export function exposureFinding(f: ExposureFacts): Finding {
    if (f.addresses.length === 0 && f.listProblem) {
        return warn(`homemail:vps.publicIpv6 is unset and ${f.listProblem}: the VPS's IPv6 addresses are unknown`, "on the VPS: `ip -6 -o addr show scope global` must run (iproute2); or set homemail:vps.publicIpv6");
    }
    if (f.addresses.length === 0) return ok("the VPS has no global IPv6 address (homemail:vps.publicIpv6 unset; `ip -6 addr show scope global` on the VPS: none)");
    const open = f.probes.filter((p) => p.outcome === "open");
    if (open.length > 0) {
        const byAddress = [...new Set(open.map((p) => p.address))].map((a) => `${a}: ${open.filter((p) => p.address === a).map((p) => `tcp/${p.port} (${p.role})`).join(", ")}`);
        const extra = acceptsAboveChain(f.ip6tablesInput ?? "");
        let fix: string;
        if (!f.firewall) fix = "turn the VPS firewall on (it admits only SSH and WireGuard over IPv6): `pulumi config set --path homemail:gateway.firewall true` and `pulumi up`";
        else if (extra.length > 0) fix = `on the VPS: \`ip6tables ${extra[0].replace(/^-A /, "-D ")}\` (a rule above the jump to ${CHAIN} that admits it${extra.length > 1 ? `; ${extra.length - 1} more such: \`ip6tables -S INPUT\`` : ""})`;
        else fix = `on the VPS: \`ip6tables -S INPUT\` must jump to ${CHAIN} before any ACCEPT; then \`${FIREWALL_SCRIPT} enable\``;
        return fail(`answers on the VPS's IPv6 (only SSH and WireGuard may): ${byAddress.join("; ")}`, fix);
    }
    const ports = f.ports.map((p) => p.port).join(", ");
    const reached = (a: string) => f.controls.some((c) => c.address === a && (c.outcome === "open" || c.outcome === "refused"));
    const silent = f.addresses.filter((a) => !f.unroutable.includes(a) && !reached(a));
    const judged = f.addresses.filter((a) => !f.unroutable.includes(a) && reached(a));
    const elsewhere = `run the doctor from a machine with IPv6: \`npm run doctor -- --stack ${f.stack} --only exposure\``;
    const rest = judged.length > 0 ? ` (${judged.join(", ")}: tcp ${ports} refused or silent)` : "";
    if (f.unroutable.length > 0) return warn(`no IPv6 route from this machine to ${f.unroutable.join(", ")}: cannot tell whether tcp ${ports} answer there${rest}`, elsewhere);
    if (silent.length > 0) {
        return warn(
            `${silent.join(", ")}: not even the SSH port ${f.sshPort} (which the firewall admits) answered or refused: this machine's IPv6 does not reach the VPS, so silence proves nothing${rest}`,
            `${elsewhere}; or check that the VPS's provider routes its IPv6 (\`ping -6 ${silent[0]}\` from another network)`,
        );
    }
    return ok(`${judged.join(", ")}: tcp ${ports} refused or silent; the SSH port ${f.sshPort} answers or refuses, so the path works`);
}

/** Whether this machine has a route to `address`: a UDP connect() looks it up and sends nothing. */
export function hasRoute(address: string): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = dgram.createSocket("udp6");
        let settled = false;
        const done = (routed: boolean) => {
            if (settled) return;
            settled = true;
            socket.close();
            resolve(routed);
        };
        socket.on("error", () => done(false));
        // No route: connect() fails at once with ENETUNREACH, passed to this callback (which
        // @types/node declares without an argument; measured in a namespace without IPv6 routes).
        socket.connect(9, address, ((err?: Error | null) => done(!err)) as () => void);
    });
}

/** One TCP connect: open (it answered), refused, unreachable (ICMPv6 error) or timeout. */
export function tcpOutcome(address: string, port: number, timeoutMs: number): Promise<Outcome> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: address, port, family: 6 });
        const done = (o: Outcome) => {
            socket.destroy();
            resolve(o);
        };
        socket.setTimeout(timeoutMs, () => done("timeout"));
        socket.on("connect", () => done("open"));
        socket.on("error", (err: NodeJS.ErrnoException) => done(err.code === "ECONNREFUSED" ? "refused" : err.code === "ETIMEDOUT" ? "timeout" : "unreachable"));
    });
}

/** The two network probes (replaceable in unit tests). */
export interface ExposureProbes {
    readonly hasRoute: (address: string) => Promise<boolean>;
    readonly tcpOutcome: (address: string, port: number, timeoutMs: number) => Promise<Outcome>;
}

export function exposureChecks(ctx: Pick<DoctorContext, "model">, opts: { stack: string; probes?: ExposureProbes }): C[] {
    const probe = opts.probes ?? { hasRoute, tcpOutcome };
    const { model } = ctx;
    return [
        {
            id: "exposure.ipv6:vps",
            area: "exposure",
            title: "on the VPS's IPv6 only SSH and WireGuard answer",
            needs: ["inside.ssh:vps"],
            // A firewall found off or changed already explains an open port: one cause, one fail.
            ...(model.gateway.firewall ? { after: ["inside.firewall:vps"] } : {}),
            run: async (c) => {
                const listed = await c.ssh("vps", ["ip", "-6", "-o", "addr", "show", "scope", "global"]);
                const listProblem = listed.status === 0 ? undefined : `\`ip -6 addr\` on the VPS failed: ${listed.stderr.trim().split("\n")[0] ?? ""}`;
                const addresses = vpsIpv6Targets(c.model.addresses.vpsPublicIpv6, listed.status === 0 ? globalIpv6Addresses(listed.stdout) : []);
                const routes = await Promise.all(addresses.map(probe.hasRoute));
                const routable = addresses.filter((_, i) => routes[i]);
                const ports = exposedPorts(c.model);
                const timeout = Math.min(c.timeoutMs, PROBE_TIMEOUT_MS);
                // The ports and the SSH control at once: one timeout's wait in all.
                const [probes, controls] = await Promise.all([
                    Promise.all(routable.flatMap((address) => ports.map(async (p) => ({ address, port: p.port, role: p.role, outcome: await probe.tcpOutcome(address, p.port, timeout) })))),
                    Promise.all(routable.map(async (address) => ({ address, outcome: await probe.tcpOutcome(address, c.model.vps.ssh.port, timeout) }))),
                ]);
                const answered = probes.some((p) => p.outcome === "open");
                const ip6tablesInput = answered ? (await c.ssh("vps", ["ip6tables", "-w", "-S", "INPUT"])).stdout : undefined;
                return exposureFinding({
                    stack: opts.stack,
                    addresses,
                    unroutable: addresses.filter((_, i) => !routes[i]),
                    ports,
                    probes,
                    sshPort: c.model.vps.ssh.port,
                    controls,
                    firewall: c.model.gateway.firewall,
                    ...(ip6tablesInput !== undefined ? { ip6tablesInput } : {}),
                    ...(listProblem ? { listProblem } : {}),
                });
            },
        },
    ];
}
