/**
 * Lab hosts reachable over SSH the way the real engine reaches a VPS or a home server, and the
 * "operator" namespace the engine runs in (root only).
 *
 * - {@link startOperator}: a {@link Host} (own network and mount namespace) whose root HOME (`/root`)
 *   is a private empty directory: `~/.ssh/known_hosts`, `~/.ssh/config`, `~/.docker` are the lab's,
 *   never the machine's (OpenSSH finds `~` through the passwd entry, not `$HOME`, so a private
 *   HOME must be a mount). It holds one key pair, loaded into its own ssh-agent.
 * - {@link startSshHost}: a host with its own network and mount namespace (private /etc with its
 *   own SSH host key, private /home, tmpfs /run), a NON-root user with passwordless sudo whose
 *   authorized key is the operator's, and Debian's sshd started directly (systemd is not PID 1
 *   here), tracked by PID; `systemctl` there is the lab stand-in (systemctl-standin.sh). It is joined to the operator by a point-to-point veth: the host's
 *   address (any, e.g. the stack's TEST-NET VPS address) on its `op0`, the operator's
 *   {@link OPERATOR_ADDRESS} on the other end, so several hosts never share a subnet.
 *   Its key is appended to the operator's known_hosts.
 *
 * Everything is registered with the {@link Lab}; `lab.cleanup()` removes it.
 *
 * ```ts
 * const lab = new Lab("rl");
 * const vps = startSshHost(lab, { name: "vps", address: "203.0.113.10", user: "deploy" });
 * vps.operator.run(["ssh", `${vps.user}@${vps.address}`, "sudo", "-n", "true"]);
 * afterAll(() => lab.cleanup());
 * ```
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { alive, Background, Host, Lab, logTail, RunOptions, RunResult, waitFor } from "./index";

/** The operator's address on every veth to a lab host (RFC 1918; never a stack address). */
export const OPERATOR_ADDRESS = "10.254.254.1";

/** sshd as Debian installs it. */
const SSHD = "/usr/sbin/sshd";

/** The lab's systemctl stand-in (see its header). */
export const SYSTEMCTL_STAND_IN = path.join(__dirname, "systemctl-standin.sh");

/**
 * Installs the systemctl stand-in as /usr/local/bin/systemctl in the host's private /usr/local
 * (first on sudo's secure_path and on login PATHs): systemd is not PID 1 on lab hosts.
 */
export function installSystemctlStandIn(host: Host): void {
    host.install("/usr/local/bin/systemctl", readFileSync(SYSTEMCTL_STAND_IN), "0755");
}

/** Where the engine runs: private HOME, known_hosts and ssh-agent. */
export class Operator {
    /** HOME inside the operator (its passwd entry's home: root's). */
    public readonly home = "/root";
    /** The lab key pair's private key (same path inside the operator and on the machine). */
    public readonly privateKeyPath: string;
    /** Its public key line (`ssh-ed25519 AAAA... lab@operator`). */
    public readonly publicKey: string;
    /** The ssh-agent socket holding that key (same path inside and outside). */
    public readonly agentSocket: string;
    /** The ssh-agent process. */
    public readonly agent: Background;

    constructor(
        /** The namespace itself (use {@link run}/{@link sh}/{@link spawn} to get the operator's environment). */
        public readonly place: Host,
    ) {
        const dir = path.join(place.root, "operator");
        place.run(["mkdir", "-p", "-m", "0700", dir, "/root/.ssh"]);
        this.privateKeyPath = path.join(dir, "id_lab");
        place.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lab@operator", "-f", this.privateKeyPath]);
        this.publicKey = readFileSync(`${this.privateKeyPath}.pub`, "utf8").trim();
        this.agentSocket = path.join(dir, "agent.sock");
        this.agent = place.spawnLogged(["ssh-agent", "-D", "-a", this.agentSocket], path.join(dir, "ssh-agent.log"));
        waitFor(() => place.run(["test", "-S", this.agentSocket], { allowFailure: true }).status === 0, 10_000, "operator: ssh-agent socket did not appear");
        this.run(["ssh-add", "-q", this.privateKeyPath]);
        // What the engine's ssh (and the Docker provider's, which runs the system ssh) must do:
        // only keys this lab recorded, never a prompt.
        place.install(
            "/root/.ssh/config",
            ["Host *", "    StrictHostKeyChecking yes", "    BatchMode yes", "    GlobalKnownHostsFile /dev/null", "    UserKnownHostsFile ~/.ssh/known_hosts", "    ConnectTimeout 10", ""].join("\n"),
            "0600",
        );
        place.install("/root/.ssh/known_hosts", "", "0600");
    }

    /** Environment every operator command gets (HOME, the agent socket). */
    get env(): Record<string, string> {
        return { HOME: this.home, SSH_AUTH_SOCK: this.agentSocket, USER: "root", LOGNAME: "root" };
    }

    /** The operator's known_hosts as a path on the machine (for reading; append with {@link trustHostKey}). */
    get knownHostsPath(): string {
        return path.join(this.place.privateDir("/root"), ".ssh", "known_hosts");
    }

    /** Appends a known_hosts line (`<address> <type> <key>`). */
    trustHostKey(line: string): void {
        writeFileSync(this.knownHostsPath, `${line}\n`, { flag: "a" });
    }

    run(argv: readonly string[], opts: RunOptions = {}): RunResult {
        return this.place.run(argv, { ...opts, env: { ...this.env, ...opts.env } });
    }

    sh(script: string, opts: RunOptions = {}): RunResult {
        return this.run(["bash", "-c", script], opts);
    }

    spawn(argv: readonly string[], env: Readonly<Record<string, string>> = {}): Background {
        return this.place.spawn(argv, { ...this.env, ...env });
    }

    spawnLogged(argv: readonly string[], logFile: string, env: Readonly<Record<string, string>> = {}): Background {
        return this.place.spawnLogged(argv, logFile, { ...this.env, ...env });
    }

    /** Runs argv on a lab host as its SSH user (argv is joined with spaces by ssh: quote as needed). */
    ssh(host: SshHost, argv: readonly string[], opts: RunOptions = {}): RunResult {
        return this.run(["ssh", `${host.user}@${host.address}`, "--", ...argv], opts);
    }
}

const operators = new WeakMap<Lab, Operator>();

/** The lab's operator namespace (`op`), created on first use. */
export function startOperator(lab: Lab): Operator {
    let op = operators.get(lab);
    if (!op) {
        const place = lab.host("op", { entry: "nsenter", privateDirs: ["/root"] });
        op = new Operator(place);
        operators.set(lab, op);
    }
    return op;
}

export interface SshHostOptions {
    /** Short name: the namespace is `<lab prefix>-<name>`, e.g. `vps`. */
    readonly name: string;
    /** The host's IPv4 address (no prefix), on its `op0`; e.g. the stack's `vps.sshHost` `203.0.113.10`. */
    readonly address: string;
    /** The NON-root login user (passwordless sudo), e.g. `deploy`. */
    readonly user: string;
    /** The operator to trust it and reach it (default: the lab's, see {@link startOperator}). */
    readonly operator?: Operator;
    /**
     * The host's resolver (its private /etc/resolv.conf). Default `127.0.0.1`, where nothing
     * answers: lookups (dockerd looks up `docker.io` on every pull) fail at once instead of timing
     * out on the machine's resolver, which a lab namespace cannot reach. A lab DNS replaces it.
     */
    readonly resolver?: string;
    /** Install the systemctl stand-in ({@link installSystemctlStandIn}); default true. */
    readonly systemctlStandIn?: boolean;
}

/** A running lab SSH host. */
export interface SshHost {
    readonly host: Host;
    readonly operator: Operator;
    readonly name: string;
    readonly address: string;
    readonly port: 22;
    readonly user: string;
    /** The known_hosts line of its host key (`<address> ssh-ed25519 AAAA...`), already in the operator's known_hosts. */
    readonly hostKeyLine: string;
    /** Its public host key (`ssh-ed25519 AAAA...`), as a stack's host-key config would hold it. */
    readonly hostPublicKey: string;
    /** The login user's private key on the machine (the operator's key; also in the agent). */
    readonly privateKeyPath: string;
    /** The operator's ssh-agent socket holding that key. */
    readonly agentSocket: string;
    /** The sshd process (stopped by `lab.cleanup()`). */
    readonly sshd: Background;
    /** sshd's log (LogLevel VERBOSE: every connection and key), on the machine. */
    readonly sshdLog: string;
}

/** Starts a lab host with sshd and a sudo user, linked to the operator; see the module comment. */
export function startSshHost(lab: Lab, opts: SshHostOptions): SshHost {
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(opts.user) || opts.user === "root") throw new Error(`startSshHost: user ${opts.user}: a non-root login name`);
    const operator = opts.operator ?? startOperator(lab);
    const host = lab.host(opts.name, { entry: "nsenter", privateDirs: ["/home"] });
    const opIf = `h-${opts.name}`.slice(0, 15);
    lab.link(operator.place, opIf, undefined, host, "op0", undefined);
    host.sh(`set -e; ip address add ${opts.address}/32 dev op0; ip route add ${OPERATOR_ADDRESS}/32 dev op0`);
    operator.place.sh(`set -e
        ip address show dev ${opIf} | grep -q ' ${OPERATOR_ADDRESS}/' || ip address add ${OPERATOR_ADDRESS}/32 dev ${opIf}
        ip route add ${opts.address}/32 dev ${opIf} src ${OPERATOR_ADDRESS}`);

    // The user: no password (`*`: not locked, so sshd without PAM accepts its key), sudo without one.
    const u = opts.user;
    host.sh(`set -e
        useradd --create-home --shell /bin/bash --user-group ${u}
        usermod --password '*' ${u}
        install -d -m 0700 -o ${u} -g ${u} /home/${u}/.ssh
        printf '%s\\n' '${operator.publicKey}' > /home/${u}/.ssh/authorized_keys
        chown ${u}:${u} /home/${u}/.ssh/authorized_keys && chmod 0600 /home/${u}/.ssh/authorized_keys`);
    host.install(`/etc/sudoers.d/90-lab-${u}`, `${u} ALL=(ALL:ALL) NOPASSWD: ALL\n`, "0440");
    host.run(["visudo", "-c", "-q", "-f", `/etc/sudoers.d/90-lab-${u}`]);

    // A host key of its own: the machine's /etc/ssh keys stay behind the overlay.
    host.sh("set -e; rm -f /etc/ssh/ssh_host_*; ssh-keygen -q -t ed25519 -N '' -C '' -f /etc/ssh/ssh_host_ed25519_key; install -d -m 0755 /run/sshd");
    const config = "/etc/ssh/sshd_config.lab";
    host.install(
        config,
        [
            `ListenAddress ${opts.address}:22`,
            "HostKey /etc/ssh/ssh_host_ed25519_key",
            "PidFile /run/sshd.pid",
            "UsePAM no",
            "PermitRootLogin no",
            `AllowUsers ${u}`,
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "AuthorizedKeysFile .ssh/authorized_keys",
            "Subsystem sftp /usr/lib/openssh/sftp-server",
            "LogLevel VERBOSE",
            "",
        ].join("\n"),
    );
    host.run([SSHD, "-t", "-f", config]);
    if (opts.systemctlStandIn ?? true) installSystemctlStandIn(host);
    host.install("/etc/resolv.conf", `nameserver ${opts.resolver ?? "127.0.0.1"}\noptions timeout:1 attempts:1\n`);
    // A log file, not a pipe: sshd logs every connection, and sync test code does not drain pipes.
    const sshdLog = path.join(host.root, "sshd.log");
    const sshd = host.spawn([SSHD, "-D", "-E", sshdLog, "-f", config]);
    waitFor(() => host.listening(22) || !alive(sshd.pid), 10_000, `host ${opts.name}: sshd did not listen on 22`);
    if (!host.listening(22)) throw new Error(`host ${opts.name}: sshd exited: ${sshd.output()}${logTail(sshdLog)}`);

    const hostPublicKey = host.run(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).stdout.trim().split(/\s+/).slice(0, 2).join(" ");
    const hostKeyLine = `${opts.address} ${hostPublicKey}`;
    operator.trustHostKey(hostKeyLine);
    return {
        host,
        operator,
        name: opts.name,
        address: opts.address,
        port: 22,
        user: u,
        hostKeyLine,
        hostPublicKey,
        privateKeyPath: operator.privateKeyPath,
        agentSocket: operator.agentSocket,
        sshd,
        sshdLog,
    };
}
