/**
 * OpenSSH's sshd on lab hosts, and a client config for whoever reaches them: what an operator has
 * (an agent-less key file stands in for the agent, a known_hosts with the hosts' real keys, and a
 * host alias for a host whose configured address is not reachable from the client, as a user's
 * ~/.ssh/config would have it). Host keys and the client key are made per run, in the lab's dir.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Host, Lab, run } from "../../lab/harness";
import { waitListening } from "./listening";
import { spawnLogged } from "./logged";

export interface SshAccess {
    /** The ssh_config file for `ssh -F` (`homemail doctor --ssh-config`). */
    readonly configFile: string;
}

export interface SshHost {
    readonly host: Host;
    /** Address sshd listens on. */
    readonly address: string;
    /** The address the stack config names for this host, when it differs (an ssh_config alias). */
    readonly configuredAs?: string;
}

const keygen = (file: string) => run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "homemail lab (test only)", "-f", file]);

/** Starts sshd (root login by key only) on each host; returns the client config that reaches them. */
export function startSshd(lab: Lab, hosts: readonly SshHost[]): SshAccess {
    const dir = path.join(lab.dir, "ssh");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const clientKey = path.join(dir, "id_ed25519");
    keygen(clientKey);
    writeFileSync(path.join(dir, "authorized_keys"), readFileSync(`${clientKey}.pub`));
    const knownHosts: string[] = [];
    const config: string[] = [];
    for (const h of hosts) {
        const hostDir = path.join(dir, h.host.name);
        mkdirSync(hostDir, { recursive: true, mode: 0o700 });
        const hostKey = path.join(hostDir, "ssh_host_ed25519_key");
        keygen(hostKey);
        const conf = path.join(hostDir, "sshd_config");
        writeFileSync(conf, [
            `ListenAddress ${h.address}:22`,
            `HostKey ${hostKey}`,
            `PidFile ${path.join(hostDir, "sshd.pid")}`,
            `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            // The lab's directories are the test's, not the user's home.
            "StrictModes no",
            "",
        ].join("\n"));
        h.host.run(["mkdir", "-p", "-m", "0755", "/run/sshd"]);
        const sshd = spawnLogged(h.host, ["/usr/sbin/sshd", "-D", "-e", "-f", conf], path.join(hostDir, "sshd.log"));
        waitListening(h.host, 22, `sshd on ${h.host.name}`, sshd.log);
        knownHosts.push(`${h.address} ${readFileSync(`${hostKey}.pub`, "utf8").split(" ").slice(0, 2).join(" ")}`);
        if (h.configuredAs) config.push(`Host ${h.configuredAs}`, `    HostName ${h.address}`);
    }
    config.push(
        "Host *",
        `    IdentityFile ${clientKey}`,
        "    IdentitiesOnly yes",
        `    UserKnownHostsFile ${path.join(dir, "known_hosts")}`,
        "    GlobalKnownHostsFile /dev/null",
        "    StrictHostKeyChecking yes",
        "",
    );
    writeFileSync(path.join(dir, "known_hosts"), `${knownHosts.join("\n")}\n`);
    const configFile = path.join(dir, "config");
    writeFileSync(configFile, config.join("\n"));
    return { configFile };
}
