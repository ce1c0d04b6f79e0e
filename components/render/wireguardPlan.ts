/**
 * The WireGuard link and SMTP egress as host plans. Two phases per host, because each wg0.conf names
 * the peer's public key, which the peer's key step prints:
 * - base: SSH answers -> preflight -> the key born on the host (its public key is the step's stdout);
 * - link: egress files -> wg0.conf -> wg-quick@wg0 up -> egress enable.
 *
 * Pure: the scripts' texts come in as arguments.
 */
import { EGRESS_SCRIPT_PATH, EGRESS_UNIT_NAME, renderEgress } from "./egress";
import type { HostFile, HostName } from "./hostFile";
import { sha256 } from "./hostFile";
import { HostPlan, PlannedFile, pathSlug, sshWaitStep } from "./hostPlan";
import { WG_CONF_PATH, WG_INTERFACE, WG_KEY_PATH, WireguardModel, WireguardPublicKeys, renderWireguard } from "./wireguard";

export type WireguardRole = "hub" | "spoke";
export const WIREGUARD_ROLES: readonly WireguardRole[] = ["hub", "spoke"];
export const HOST_OF: Readonly<Record<WireguardRole, HostName>> = { hub: "vps", spoke: "home" };
/** Where ensure-key.sh records the epoch of the key next to it. */
export const WG_KEY_EPOCH_PATH = `${WG_KEY_PATH}.epoch`;

/** The texts of the host scripts the plans send or install. */
export interface WireguardScripts {
    /** assets/wireguard/preflight.sh */
    readonly preflight: string;
    /** assets/wireguard/ensure-key.sh */
    readonly ensureKey: string;
    /** assets/egress/{home,vps,lib}.sh */
    readonly egress: { readonly home: string; readonly vps: string; readonly lib: string };
}

/** Stands in for the public keys when only the plan's shape is needed (the executor checks it). */
export const SHAPE_KEYS: WireguardPublicKeys = { hub: `${"A".repeat(43)}=`, spoke: `${"A".repeat(43)}=` };

/** Base plan of one host: wait for SSH, preflight, key. `keyEpoch`: homemail:wireguard.keyEpoch. */
export function planWireguardBase(role: WireguardRole, scripts: WireguardScripts, keyEpoch: number): HostPlan {
    if (!Number.isInteger(keyEpoch) || keyEpoch < 0) throw new Error(`WireGuard key epoch ${keyEpoch} is not a whole number >= 0`);
    return {
        host: HOST_OF[role],
        files: [],
        steps: [
            sshWaitStep(`${role}-ssh`),
            {
                role: `${role}-preflight`,
                command: "bash -s",
                stdin: scripts.preflight,
                rerunOn: [sha256(scripts.preflight)],
                after: [`${role}-ssh`],
                strategy: "replace",
                undo: { kind: "nothing-to-undo", reason: "only reads the host (tools, iptables backend)" },
            },
            {
                // In place, never replaced: a re-run with the same epoch keeps the key; a new epoch
                // (homemail:wireguard.keyEpoch) is a new command, so the step runs again and rotates it.
                role: `${role}-key`,
                command: `bash -s -- ${WG_KEY_PATH} ${keyEpoch}`,
                stdin: scripts.ensureKey,
                rerunOn: [sha256(scripts.ensureKey)],
                after: [`${role}-preflight`],
                strategy: "in-place",
                undo: { kind: "remove-file", command: `rm -f -- ${WG_KEY_PATH} ${WG_KEY_EPOCH_PATH}` },
            },
        ],
    };
}

/**
 * Link plan of one host. Its `after` names the base plan's `<role>-preflight` and `<role>-key`
 * (given to the executor as outside resources).
 */
export function planWireguardLink(model: WireguardModel, role: WireguardRole, keys: WireguardPublicKeys, scripts: WireguardScripts): HostPlan {
    const host = HOST_OF[role];
    const conf = renderWireguard(model, keys)[role];
    const egressFiles = renderEgress(model, scripts.egress).filter((f) => f.host === host);
    const planned = (f: HostFile, after: string[]): PlannedFile => ({ role: `${role}-file-${pathSlug(f.path)}`, file: f, after, undo: { kind: "remove-file" } });
    // Egress files go first: the spoke's PostUp re-applies egress through the installed script.
    const egress = egressFiles.map((f) => planned(f, [`${role}-preflight`]));
    const confFile = planned(conf, [`${role}-key`, ...egress.map((f) => f.role!)]);
    const upRole = `${role}-up`;
    return {
        host,
        files: [...egress, confFile],
        steps: [
            {
                // undo-first: on a conf change the OLD step's stop runs, then the new enable + restart,
                // so the tunnel ends up. (Replace would run the old stop last: wg0 down, no mail.)
                role: upRole,
                command: `systemctl enable wg-quick@${WG_INTERFACE} && systemctl restart wg-quick@${WG_INTERFACE}`,
                rerunOn: [],
                rerunOnFiles: [confFile.role!],
                after: [confFile.role!],
                strategy: "undo-first",
                undo: { kind: "stop-service", command: `systemctl disable --now wg-quick@${WG_INTERFACE}` },
            },
            ...(egress.length
                ? [
                      {
                          // undo-first: `disable` replays the ledger of the old settings before `enable`
                          // records the new ones; replace would end with egress off.
                          role: `${role}-egress`,
                          command: `${EGRESS_SCRIPT_PATH} enable && ${EGRESS_SCRIPT_PATH} verify && systemctl daemon-reload && systemctl enable ${EGRESS_UNIT_NAME}`,
                          rerunOn: [],
                          rerunOnFiles: egress.map((f) => f.role!),
                          after: [upRole, ...egress.map((f) => f.role!)],
                          strategy: "undo-first" as const,
                          undo: { kind: "replay-ledger" as const, command: `${EGRESS_SCRIPT_PATH} disable && systemctl disable ${EGRESS_UNIT_NAME}` },
                      },
                  ]
                : []),
        ],
    };
}

export { WG_CONF_PATH };
