/**
 * SMTP egress through the VPS: the host files of the egress scripts on both hosts. Pure: Model +
 * the script texts (assets/egress/*, read by the caller) -> HostFiles.
 *
 * The scripts themselves are real files in assets/egress/ (never built here); this renderer only
 * writes their settings (the env file), places them, and renders the systemd unit that re-applies
 * the policy after Docker and wg-quick@wg0 start (Docker re-creates its rules on restart, and wg0's
 * routes vanish while it is down).
 */
import type { Model } from "../config/model";
import type { HostFile, HostName } from "./hostFile";
import { EGRESS_SCRIPT_PATH, WG_INTERFACE } from "./wireguard";

export { EGRESS_SCRIPT_PATH };
/** Settings of the egress script on each host (the scripts' HOMEMAIL_EGRESS_ENV default). */
export const EGRESS_ENV_PATH = "/etc/homemail/smtp-egress.env";
/** Shared core the scripts source (their HOMEMAIL_EGRESS_LIB default). */
export const EGRESS_LIB_PATH = "/usr/local/lib/homemail/smtp-egress-lib.sh";
export const EGRESS_UNIT_NAME = "homemail-smtp-egress.service";
export const EGRESS_UNIT_PATH = `/etc/systemd/system/${EGRESS_UNIT_NAME}`;

/** The texts of assets/egress/{home,vps,lib}.sh. */
export interface EgressScripts {
    readonly home: string;
    readonly vps: string;
    readonly lib: string;
}

/** The subset of the model this renderer reads. */
export type EgressModel = Pick<Model, "addresses" | "egress">;

/** Every egress host file, hosts and paths sorted. Empty when egress is disabled. */
export function renderEgress(model: EgressModel, scripts: EgressScripts): HostFile[] {
    if (!model.egress.enabled) return [];
    const files: HostFile[] = [];
    for (const host of ["home", "vps"] as const) {
        files.push(
            file(host, EGRESS_ENV_PATH, "0644", renderEgressEnv(model, host)),
            file(host, EGRESS_LIB_PATH, "0644", scripts.lib, "bash -n {}"),
            file(host, EGRESS_SCRIPT_PATH, "0755", host === "home" ? scripts.home : scripts.vps, "bash -n {}"),
            file(host, EGRESS_UNIT_PATH, "0644", renderEgressUnit()),
        );
    }
    return files.sort((a, b) => a.host.localeCompare(b.host) || a.path.localeCompare(b.path));
}

/** The env file of one host's egress script: `KEY=value` lines, keys in a fixed order. */
export function renderEgressEnv(model: EgressModel, host: HostName): string {
    const a = model.addresses;
    const common: [string, string][] = [
        ["HOMEMAIL_STATE_DIR", model.egress.stateDir],
        ["HOMEMAIL_WG_INTERFACE", WG_INTERFACE],
        ["HOMEMAIL_MAILU_SUBNET", a.mailuSubnet],
    ];
    const specific: [string, string][] =
        host === "home"
            ? [
                  ["HOMEMAIL_MAILU_BRIDGE", a.mailuBridge],
                  ["HOMEMAIL_EGRESS_FWMARK", String(model.egress.fwmark)],
                  ["HOMEMAIL_EGRESS_TABLE", String(model.egress.routeTable)],
                  ["HOMEMAIL_EGRESS_RULE_PRIORITY", String(model.egress.rulePriority)],
              ]
            : [
                  ["HOMEMAIL_WG_MTU", String(a.wgMtu)],
                  ["HOMEMAIL_WAN_INTERFACE", a.vpsWanInterface],
                  ["HOMEMAIL_PUBLIC_IP", a.vpsPublicIp],
                  ["HOMEMAIL_ONE_TO_ONE_NAT", a.vpsOneToOneNat ? "true" : "false"],
              ];
    return [
        "# managed by homemail, do not edit",
        `# Settings of ${EGRESS_SCRIPT_PATH} (${host} variant); each key is described in its header.`,
        ...[...common, ...specific].map(([k, v]) => `${k}=${v}`),
        "",
    ].join("\n");
}

/**
 * The re-apply unit: runs `reapply` after docker.service and wg-quick@wg0 start, and again whenever
 * Docker restarts (PartOf propagates the restart; RemainAfterExit keeps the unit active so that it
 * does). `reapply` does nothing when egress is disabled, so an enabled unit can never turn it on.
 */
export function renderEgressUnit(): string {
    return [
        "# managed by homemail, do not edit",
        "[Unit]",
        "Description=homemail: re-apply the SMTP egress policy after Docker and WireGuard start",
        `After=docker.service wg-quick@${WG_INTERFACE}.service`,
        "PartOf=docker.service",
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        `ExecStart=${EGRESS_SCRIPT_PATH} reapply`,
        "",
        "[Install]",
        "WantedBy=multi-user.target docker.service",
        "",
    ].join("\n");
}

function file(host: HostName, path: string, mode: string, content: string, validate?: string): HostFile {
    return { host, path, mode, owner: "root:root", secret: false, content, ...(validate ? { validate } : {}) };
}
