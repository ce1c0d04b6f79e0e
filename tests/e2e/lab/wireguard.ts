/**
 * The rendered wg0.conf run as the hosts run it (`wg-quick up wg0`, its PostUp hooks included),
 * over wireguard-go since there is no kernel module here.
 *
 * The rendered configs have no PrivateKey: on a real host the key step runs `wg genkey` there. The
 * render puts the fixture public keys (tests/fixtures/wireguard/*.pub) into the peers' configs, so
 * the lab installs the matching test-only private keys as each host's /etc/wireguard/wg0.key.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../helpers/stack";
import { Host, Lab, waitFor } from "../../lab/harness";

const TRACKED_WIREGUARD_GO = path.join(REPO_ROOT, "tests", "lab", "harness", "wireguard-go-tracked.sh");

export type WireguardRole = "hub" | "spoke";

/** Installs the test-only private key of `role` where the rendered PostUp reads it. */
export function installFixtureKey(host: Host, role: WireguardRole): void {
    const key = readFileSync(path.join(REPO_ROOT, "tests", "fixtures", "wireguard", `test-only-${role}.key`), "utf8");
    host.install("/etc/wireguard/wg0.key", key, "0600");
}

/** The tunnel's two ends on one lab: up and down as an operator (or systemd) would do it. */
export class Wireguard {
    private readonly pids = new Map<string, number>();

    constructor(private readonly lab: Lab) {}

    private pidDir(host: Host): string {
        return path.join(this.lab.dir, host.name);
    }

    /** `wg-quick up wg0` with wireguard-go started as a tracked lab process. */
    up(host: Host): void {
        host.run(["wg-quick", "up", "wg0"], {
            env: { WG_QUICK_USERSPACE_IMPLEMENTATION: TRACKED_WIREGUARD_GO, HOMEMAIL_LAB_PID_DIR: this.pidDir(host) },
            timeoutMs: 30_000,
        });
        const pid = Number(readFileSync(path.join(this.pidDir(host), "wg0.pid"), "utf8"));
        this.lab.adopt(pid);
        this.pids.set(host.name, pid);
    }

    /** `wg-quick down wg0` (its PostDown runs) and the daemon stopped: the tunnel is gone. */
    down(host: Host): void {
        host.run(["wg-quick", "down", "wg0"], { allowFailure: true, timeoutMs: 30_000 });
        const pid = this.pids.get(host.name);
        if (pid !== undefined) this.lab.stop(pid);
        this.pids.delete(host.name);
        waitFor(() => host.run(["ip", "link", "show", "wg0"], { allowFailure: true }).status !== 0, 5000, `${host.name}: wg0 still there after wg-quick down`);
    }

    /**
     * Waits until both ends have a handshake: the hub (the responder) records it only once a packet
     * arrives over the new session, which the spoke's keepalive sends only after its interval; one
     * TCP probe from the spoke into the tunnel sends one now.
     */
    confirmHandshake(spoke: Host, hub: Host, hubAddress: string): void {
        spoke.run(["nc", "-z", "-w", "2", hubAddress, "22"], { allowFailure: true, timeoutMs: 15_000 });
        waitFor(() => this.lastHandshakeAt(spoke) > 0 && this.lastHandshakeAt(hub) > 0, 30_000, "the tunnel has no handshake on both ends");
    }

    /** When the last handshake happened (unix seconds, 0 = never), as `wg show` reports it. */
    lastHandshakeAt(host: Host): number {
        const line = host.run(["wg", "show", "wg0", "latest-handshakes"]).stdout.trim();
        return Number(line.split(/\s+/)[1] ?? 0);
    }
}
