/**
 * The split topology from inside, over SSH, read-only: each host reachable (as root or through
 * `sudo -n`), the WireGuard handshake age on both ends, the hosts' own `verify` commands (SMTP
 * egress on both, the VPS firewall), and home's fail-closed route for marked SMTP.
 */
import type { SshTarget } from "../../../../components/config";
import { FIREWALL_SCRIPT_PATH } from "../../../../components/render/gatewayLayout";
import { HOME_FIREWALL_SCRIPT_PATH } from "../../../../components/render/homeFirewall";
import { EGRESS_SCRIPT_PATH } from "../../../../components/render/wireguard";
import { Check, fail, Finding, ok, warn } from "../check";
import type { DoctorContext } from "../context";
import { HostRole, sudoFor } from "../ssh";

type C = Check<DoctorContext>;

export const EGRESS_SCRIPT = EGRESS_SCRIPT_PATH;
export const FIREWALL_SCRIPT = FIREWALL_SCRIPT_PATH;
const WG = "wg0";
/** WireGuard re-handshakes every 2 minutes while packets flow (the spoke's keepalive keeps them flowing). */
export const HANDSHAKE_OK_SECONDS = 180;
export const HANDSHAKE_FAIL_SECONDS = 300;
/** A documentation address (RFC 5737) for `ip route get`: a lookup, no packet is sent. */
const ROUTE_PROBE = "192.0.2.1";

const hostName = (role: HostRole) => (role === "vps" ? "the VPS" : "home");
const firstLines = (text: string, n = 2) => text.trim().split("\n").filter(Boolean).slice(0, n).join("; ");

/** Judges `wg show wg0 latest-handshakes` output against the host's clock (pure: unit-tested). */
export function handshakeFinding(role: HostRole, latest: string, now: number, t: SshTarget): Finding {
    const restart = `on ${hostName(role)}: \`${sudoFor(t)}systemctl restart wg-quick@${WG}\`; the VPS must accept UDP on the WireGuard port from home, and the peers' keys must match \`pulumi stack output wireguardPublicKeys\``;
    const peers = latest.trim().split("\n").filter(Boolean).map((l) => Number(l.trim().split(/\s+/)[1] ?? 0));
    if (peers.length === 0) return fail(`${WG} on ${hostName(role)} has no peer`, `run \`pulumi up\` (it writes /etc/wireguard/${WG}.conf)`);
    const last = Math.max(...peers);
    if (last === 0) return fail(`${WG} on ${hostName(role)}: no handshake with the peer yet`, restart);
    const age = now - last;
    if (age > HANDSHAKE_FAIL_SECONDS) return fail(`${WG} on ${hostName(role)}: last handshake ${age} s ago (the tunnel is dead after ${HANDSHAKE_FAIL_SECONDS} s)`, restart);
    if (age > HANDSHAKE_OK_SECONDS) return warn(`${WG} on ${hostName(role)}: last handshake ${age} s ago (expected within ${HANDSHAKE_OK_SECONDS} s)`, restart);
    return ok(`last handshake ${Math.max(0, age)} s ago`);
}

const bytes = (n: number) => (n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);

/**
 * Adds the counters of `wg show wg0 transfer` (peer, received, sent) to a fresh handshake: a
 * handshake with nothing received since means the peer's packets stopped arriving (pure: tested on
 * recorded outputs).
 */
export function transferFinding(role: HostRole, handshakeDetail: string, transfer: string): Finding {
    const peers = transfer.trim().split("\n").filter(Boolean).map((l) => l.trim().split(/\s+/).slice(1, 3).map(Number));
    const received = peers.reduce((sum, [rx]) => sum + (rx || 0), 0);
    const sent = peers.reduce((sum, [, tx]) => sum + (tx || 0), 0);
    const detail = `${handshakeDetail}; received ${bytes(received)}, sent ${bytes(sent)}`;
    if (peers.length > 0 && received === 0) return warn(`${WG} on ${hostName(role)}: ${detail}: nothing arrived from the peer since the tunnel came up`, `on ${hostName(role)}: \`wg show ${WG}\`; the peer's firewall must let its packets out`);
    return ok(detail);
}

export function insideChecks(ctx: Pick<DoctorContext, "model">): C[] {
    const { model } = ctx;
    const targets: Record<HostRole, SshTarget> = { vps: model.vps.ssh, home: model.home.ssh };
    const checks: C[] = [];
    for (const role of ["vps", "home"] as const) {
        const t = targets[role];
        checks.push({
            id: `inside.ssh:${role}`,
            area: "inside",
            title: `SSH to ${hostName(role)} (${t.user}@${t.host}:${t.port})`,
            run: async (c) => {
                const r = await c.ssh(role, ["true"]);
                if (r.status === 0) return ok(`${t.user}@${t.host}:${t.port}${t.user === "root" ? "" : " with sudo -n"}`);
                const login = `ssh -p ${t.port} ${t.user}@${t.host}`;
                return fail(
                    `${login} failed (exit ${r.status}): ${firstLines(r.stderr, 1) || "no output"}`,
                    `make \`${login}\` work without a prompt: load the key (\`ssh-add\`), have the host key in ~/.ssh/known_hosts${t.user === "root" ? "" : `, and give ${t.user} passwordless sudo`}`,
                );
            },
        });
        checks.push({
            id: `inside.wg:${role}`,
            area: "inside",
            title: `WireGuard handshake on ${hostName(role)}`,
            needs: [`inside.ssh:${role}`],
            run: async (c) => {
                const shown = await c.ssh(role, ["wg", "show", WG, "latest-handshakes"]);
                if (shown.status !== 0) {
                    return fail(`${WG} is not up on ${hostName(role)}: ${firstLines(shown.stderr, 1)}`, `on ${hostName(role)}: \`${sudoFor(t)}systemctl start wg-quick@${WG}\` (or \`${sudoFor(t)}wg-quick up ${WG}\`)`);
                }
                const now = Number((await c.ssh(role, ["date", "+%s"])).stdout.trim());
                const handshake = handshakeFinding(role, shown.stdout, now, t);
                if (handshake.status !== "ok") return handshake;
                return transferFinding(role, handshake.detail, (await c.ssh(role, ["wg", "show", WG, "transfer"])).stdout);
            },
        });
        if (model.egress.enabled) {
            checks.push({
                id: `inside.egress:${role}`,
                area: "inside",
                title: `SMTP egress on ${hostName(role)} (verify)`,
                needs: [`inside.ssh:${role}`],
                // With wg0 down, verify reports that too: the tunnel check already said why; Docker's
                // raw drop moved before homemail's exception too (inside.docker-raw:home).
                after: [`inside.wg:${role}`, ...(role === "home" ? ["inside.docker-raw:home"] : [])],
                run: async (c) => {
                    const r = await c.ssh(role, [EGRESS_SCRIPT, "verify"]);
                    if (r.status === 0) return ok("verify: ok");
                    const drift = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => /drift|error/.test(l));
                    return fail(`${EGRESS_SCRIPT} verify on ${hostName(role)}: ${firstLines(drift.join("\n") || r.stderr || r.stdout)}`, `on ${hostName(role)}: \`${sudoFor(t)}${EGRESS_SCRIPT} reapply\` (or \`pulumi up\`)`);
                },
            });
        }
    }
    // The VPS firewall is optional (homemail:gateway.firewall); home's is part of every Mailu deploy.
    const firewalls: { role: HostRole; script: string }[] = [
        ...(model.gateway.firewall ? [{ role: "vps" as const, script: FIREWALL_SCRIPT }] : []),
        { role: "home", script: HOME_FIREWALL_SCRIPT_PATH },
    ];
    for (const { role, script } of firewalls) {
        const t = targets[role];
        checks.push({
            id: `inside.firewall:${role}`,
            area: "inside",
            title: `${role === "vps" ? "VPS host" : "home's WireGuard"} firewall (verify)`,
            needs: [`inside.ssh:${role}`],
            run: async (c) => {
                const r = await c.ssh(role, [script, "verify"]);
                if (r.status === 0) return ok("verify: ok");
                return fail(`${script} verify: ${firstLines(`${r.stdout}\n${r.stderr}`)}`, `on ${hostName(role)}: \`${sudoFor(t)}${script} enable\` (or \`pulumi up\`)`);
            },
        });
    }
    if (model.egress.enabled) {
        const t = targets.home;
        const { routeTable, fwmark } = model.egress;
        checks.push({
            id: "inside.fail-closed:home",
            area: "inside",
            title: "home: marked SMTP has no way out but the tunnel",
            needs: ["inside.egress:home"],
            run: async (c) => {
                const fix = `on home: \`${sudoFor(t)}${EGRESS_SCRIPT} reapply\``;
                const table = await c.ssh("home", ["ip", "-4", "route", "show", "table", String(routeTable)]);
                if (!/^unreachable default\b/m.test(table.stdout)) return fail(`table ${routeTable} on home has no \`unreachable default\`: with ${WG} down, Mailu's SMTP would leave by the home line`, fix);
                const route = await c.ssh("home", ["ip", "-4", "route", "get", ROUTE_PROBE, "mark", String(fwmark)]);
                const line = `${route.stdout}${route.stderr}`.trim().split("\n")[0] ?? "";
                if (route.status === 0 && !new RegExp(`\\bdev ${WG}\\b`).test(line)) return fail(`marked SMTP (fwmark ${fwmark}) is routed \`${line}\`, not into ${WG}`, fix);
                return ok(`fwmark ${fwmark} -> ${route.status === 0 ? `dev ${WG}` : "unreachable"}; table ${routeTable} ends in unreachable`);
            },
        });
    }
    return checks;
}
