/**
 * A real Postfix instance inside a lab namespace: its own config, queue and data directories under
 * the lab's scratch directory (`postfix -c DIR`), no chroot, listening only on the address given,
 * logging to a file (postlogd) so tests read what it did. Mailboxes are Maildirs, one per address.
 *
 * The instance runs in the foreground (`postfix start-fg`) as a tracked lab process. Its master
 * puts itself in a session of its own, out of reach of a kill of the tracked process group, so the
 * lab also adopts the master's PID: stopping the master stops every Postfix process it started.
 */
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { alive, Lab, Place, waitFor } from "../../lab/harness";
import { LoggedProcess, spawnLogged } from "./logged";
import { userId } from "./users";

/** `nobody`: Maildirs belong to it (Postfix refuses to deliver as root). */
const MAILBOX_UID = 65534;

export interface PostfixOptions {
    /** `myhostname`: the name in the banner, HELO and Received headers. */
    readonly hostname: string;
    /** The one address smtpd listens on (`inet_interfaces`). */
    readonly listen: string;
    /** Addresses with a mailbox here; their domains are this instance's virtual mailbox domains. */
    readonly mailboxes: readonly string[];
    /** Forwarding aliases: address -> destinations. */
    readonly aliases?: Readonly<Record<string, readonly string[]>>;
    /** `-o` overrides for the public smtpd on port 25 (e.g. PROXY protocol). */
    readonly smtpdOverrides?: Readonly<Record<string, string>>;
    /** More main.cf settings (milters, policy services). */
    readonly main?: Readonly<Record<string, string>>;
    /** More master.cf lines (policy services). */
    readonly services?: readonly string[];
}

/** One delivered message, as stored in a Maildir. */
export interface StoredMessage {
    readonly file: string;
    readonly text: string;
}

export class Postfix {
    readonly conf: string;
    readonly logFile: string;
    private readonly mailRoot: string;
    private master?: LoggedProcess;

    constructor(
        private readonly lab: Lab,
        private readonly place: Place,
        /** Instance directory (created); must be traversable by the postfix and nobody users. */
        readonly dir: string,
        private readonly options: PostfixOptions,
    ) {
        this.conf = path.join(dir, "conf");
        this.logFile = path.join(dir, "maillog");
        this.mailRoot = path.join(dir, "mail");
        this.writeConfig();
    }

    private writeConfig(): void {
        const o = this.options;
        const queue = path.join(this.dir, "queue");
        const data = path.join(this.dir, "data");
        for (const d of [this.conf, queue, data, this.mailRoot]) mkdirSync(d, { recursive: true, mode: 0o755 });
        // The master refuses a data directory that postfix does not own; Maildirs belong to nobody.
        chownSync(data, userId("postfix"), -1);
        chownSync(this.mailRoot, MAILBOX_UID, MAILBOX_UID);
        const domains = [...new Set(o.mailboxes.map((a) => a.split("@")[1]))].sort();
        const main: Record<string, string> = {
            compatibility_level: "3.6",
            queue_directory: queue,
            data_directory: data,
            mail_owner: "postfix",
            myhostname: o.hostname,
            mydomain: o.hostname.split(".").slice(1).join("."),
            myorigin: "$mydomain",
            mydestination: "",
            inet_interfaces: o.listen,
            inet_protocols: "ipv4",
            mynetworks: "127.0.0.0/8",
            alias_maps: "",
            alias_database: "",
            biff: "no",
            smtputf8_enable: "no",
            maillog_file: this.logFile,
            maillog_file_prefixes: path.dirname(this.dir),
            virtual_mailbox_domains: domains.join(" "),
            virtual_mailbox_base: this.mailRoot,
            virtual_mailbox_maps: `texthash:${path.join(this.conf, "mailboxes")}`,
            virtual_alias_maps: `texthash:${path.join(this.conf, "aliases")}`,
            virtual_uid_maps: `static:${MAILBOX_UID}`,
            virtual_gid_maps: `static:${MAILBOX_UID}`,
            // Lab pace: retry deferred mail within seconds, give up on a dead peer quickly.
            queue_run_delay: "1s",
            minimal_backoff_time: "1s",
            maximal_backoff_time: "2s",
            smtp_connect_timeout: "5s",
            ...o.main,
        };
        writeFileSync(path.join(this.conf, "main.cf"), Object.entries(main).map(([k, v]) => `${k} = ${v}`).join("\n") + "\n");
        const smtpd = Object.entries(o.smtpdOverrides ?? {}).map(([k, v]) => `  -o ${k}=${v}`);
        writeFileSync(path.join(this.conf, "master.cf"), [...MASTER_SERVICES, ...smtpd, ...(o.services ?? [])].join("\n") + "\n");
        writeFileSync(path.join(this.conf, "mailboxes"), o.mailboxes.map((a) => `${a} ${mailboxDir(a)}/\n`).join(""));
        writeFileSync(path.join(this.conf, "aliases"), Object.entries(o.aliases ?? {}).map(([a, to]) => `${a} ${to.join(", ")}\n`).join(""));
    }

    /** Starts the instance and waits until its master says it runs. */
    start(): void {
        const from = this.log().length;
        this.master = spawnLogged(this.place, ["postfix", "-c", this.conf, "start-fg"], path.join(this.dir, "master.log"));
        this.waitForLog(/daemon started -- version/, 15_000, from);
        this.lab.adopt(this.masterPid());
    }

    /** Stops the instance as `postfix stop` does and waits until its master is gone (start() starts it again). */
    stop(): void {
        const pid = this.masterPid();
        this.place.run(["postfix", "-c", this.conf, "stop"]);
        waitFor(() => !alive(pid), 15_000, `postfix ${this.options.hostname}: master ${pid} still runs after postfix stop`);
    }

    private masterPid(): number {
        return Number(readFileSync(path.join(this.dir, "queue", "pid", "master.pid"), "utf8").trim());
    }

    /** Everything the instance logged so far. */
    log(): string {
        return existsSync(this.logFile) ? readFileSync(this.logFile, "utf8") : "";
    }

    /** Waits until the log matches (searching from `fromOffset`, a previous log length). */
    waitForLog(pattern: RegExp, timeoutMs: number, fromOffset = 0): RegExpMatchArray {
        let match: RegExpMatchArray | null = null;
        try {
            waitFor(() => (match = this.log().slice(fromOffset).match(pattern)) !== null, timeoutMs, "");
        } catch {
            throw new Error(`postfix ${this.options.hostname}: no log line matching ${pattern} within ${timeoutMs} ms\n--- maillog\n${this.log().slice(fromOffset)}\n--- master\n${this.master?.log() ?? ""}`);
        }
        return match!;
    }

    /** Submits a message locally, as a webmail or a user agent on the server would (sendmail -> pickup). */
    submit(message: string, from: string, to: readonly string[]): void {
        this.place.run(["sendmail", "-C", this.conf, "-f", from, "--", ...to], { input: message });
    }

    /** The queue as `postqueue -j` lists it (one JSON object a message). */
    queue(): { queue_id: string; queue_name: string; recipients: { address: string; delay_reason?: string }[] }[] {
        const out = this.place.run(["postqueue", "-c", this.conf, "-j"]).stdout;
        return out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
    }

    /** Asks the queue manager to retry every deferred message now. */
    flush(): void {
        this.place.run(["postqueue", "-c", this.conf, "-f"]);
    }

    /** Messages delivered to a mailbox here, oldest first. */
    mailbox(address: string): StoredMessage[] {
        const dir = path.join(this.mailRoot, mailboxDir(address), "new");
        if (!existsSync(dir)) return [];
        return readdirSync(dir)
            .sort()
            .map((f) => ({ file: path.join(dir, f), text: readFileSync(path.join(dir, f), "utf8") }));
    }

    /** Waits for a message whose text contains `marker` (e.g. its Message-ID) in a mailbox. */
    waitForMessage(address: string, marker: string, timeoutMs: number): StoredMessage {
        let found: StoredMessage | undefined;
        try {
            waitFor(() => (found = this.mailbox(address).find((m) => m.text.includes(marker))) !== undefined, timeoutMs, "");
        } catch {
            throw new Error(`postfix ${this.options.hostname}: no message with ${marker} for ${address} within ${timeoutMs} ms\n--- maillog\n${this.log()}`);
        }
        return found!;
    }
}

function mailboxDir(address: string): string {
    const [local, domain] = address.split("@");
    return `${domain}/${local}`;
}

/**
 * The services a receiving and sending MTA needs, none chrooted (the lab has no chroot tree). The
 * public smtpd comes last so that its `-o` overrides follow it.
 */
const MASTER_SERVICES = [
    "pickup    unix  n - n 60 1 pickup",
    "cleanup   unix  n - n -  0 cleanup",
    "qmgr      unix  n - n 300 1 qmgr",
    "rewrite   unix  - - n -  - trivial-rewrite",
    "bounce    unix  - - n -  0 bounce",
    "defer     unix  - - n -  0 bounce",
    "trace     unix  - - n -  0 bounce",
    "verify    unix  - - n -  1 verify",
    "flush     unix  n - n 1000? 0 flush",
    "proxymap  unix  - - n -  - proxymap",
    "smtp      unix  - - n -  - smtp",
    "relay     unix  - - n -  - smtp",
    "showq     unix  n - n -  - showq",
    "error     unix  - - n -  - error",
    "retry     unix  - - n -  - error",
    "discard   unix  - - n -  - discard",
    "virtual   unix  - n n -  - virtual",
    "anvil     unix  - - n -  1 anvil",
    "scache    unix  - - n -  1 scache",
    "postlog   unix-dgram n - n - 1 postlogd",
    "smtp      inet  n - n -  - smtpd",
];
