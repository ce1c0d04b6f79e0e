/**
 * The home firewall: what the home server accepts through the WireGuard tunnel (only the hub's
 * tunnel address, only to Mailu's published front ports, plus replies). Pure: Model + the script
 * text (assets/home-firewall/firewall.sh, passed in unchanged) -> HostFiles; the script reads its
 * settings from the env file rendered here.
 */
import type { Model } from "../config/model";
import { HostFile, publicHostFile } from "./hostFile";
import { WG_INTERFACE } from "./wireguard";

export const HOME_FIREWALL_SCRIPT_PATH = "/usr/local/sbin/homemail-home-firewall";
export const HOME_FIREWALL_ENV_PATH = "/etc/homemail/home-firewall.env";
export const HOME_FIREWALL_UNIT_NAME = "homemail-home-firewall.service";
export const HOME_FIREWALL_UNIT_PATH = `/etc/systemd/system/${HOME_FIREWALL_UNIT_NAME}`;
export const HOME_FIREWALL_STATE_DIR = "/var/lib/homemail/home-firewall";
export const HOME_FIREWALL_INPUT_CHAIN = "HOMEMAIL-WG-IN";
export const HOME_FIREWALL_FORWARD_CHAIN = "HOMEMAIL-WG-FWD";

/** The fixed commands of the firewall step (run as root on the home server). */
export const HOME_FIREWALL_COMMANDS = {
    apply: `${HOME_FIREWALL_SCRIPT_PATH} enable && ${HOME_FIREWALL_SCRIPT_PATH} verify && systemctl daemon-reload && systemctl enable ${HOME_FIREWALL_UNIT_NAME}`,
    remove: `${HOME_FIREWALL_SCRIPT_PATH} disable && systemctl disable ${HOME_FIREWALL_UNIT_NAME}`,
} as const;

export type HomeFirewallModel = Pick<Model, "addresses" | "ports">;

/** The ports Mailu's front publishes on the spoke address (the port table's home side), sorted. */
export function frontPorts(model: HomeFirewallModel): number[] {
    return [...new Set(model.ports.map((p) => p.homePort))].sort((a, b) => a - b);
}

/** Script, env file and boot unit of the home firewall. */
export function renderHomeFirewall(model: HomeFirewallModel, script: string): HostFile[] {
    const a = model.addresses;
    const env = [
        "# managed by homemail, do not edit",
        `# Settings of ${HOME_FIREWALL_SCRIPT_PATH}: through ${WG_INTERFACE}, only the hub's tunnel address may open`,
        "# connections, and only to Mailu's published front ports; replies pass; everything else is dropped.",
        `HOMEMAIL_HFW_INTERFACE=${WG_INTERFACE}`,
        `HOMEMAIL_HFW_HUB=${a.wgHub}`,
        `HOMEMAIL_HFW_SPOKE=${a.wgSpoke}`,
        `HOMEMAIL_HFW_TCP_PORTS=${frontPorts(model).join(",")}`,
        `HOMEMAIL_HFW_INPUT_CHAIN=${HOME_FIREWALL_INPUT_CHAIN}`,
        `HOMEMAIL_HFW_FORWARD_CHAIN=${HOME_FIREWALL_FORWARD_CHAIN}`,
        `HOMEMAIL_STATE_DIR=${HOME_FIREWALL_STATE_DIR}`,
        "",
    ].join("\n");
    // Before the tunnel comes up at boot, so nothing gets through unfiltered; before Docker too
    // (Docker adopts the DOCKER-USER chain the script makes when it is missing).
    const unit = [
        "# managed by homemail, do not edit",
        "[Unit]",
        `Description=homemail home firewall (what ${WG_INTERFACE} may reach: chains ${HOME_FIREWALL_INPUT_CHAIN}, ${HOME_FIREWALL_FORWARD_CHAIN})`,
        "DefaultDependencies=no",
        `Before=network-pre.target docker.service wg-quick@${WG_INTERFACE}.service`,
        "Wants=network-pre.target",
        "After=local-fs.target",
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        `ExecStart=${HOME_FIREWALL_SCRIPT_PATH} enable`,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
    return [
        publicHostFile("home", HOME_FIREWALL_SCRIPT_PATH, script, { mode: "0755", validate: "bash -n {}" }),
        publicHostFile("home", HOME_FIREWALL_ENV_PATH, env),
        publicHostFile("home", HOME_FIREWALL_UNIT_PATH, unit),
    ];
}
