/**
 * SSH host keys from the config, checked against OpenSSH itself: keys made by ssh-keygen parse to
 * the form pulumi-command's `hostKey` and known_hosts take; the known_hosts line homemail builds is
 * found by `ssh-keygen -F`; and a real sshd (root: in a network namespace) is refused by the system
 * ssh with homemail's options when its key is not the configured one (issue 13 hole 10).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseSshHostKey } from "../../components/config/hostKey";
import { knownHostsLine, knownHostsName, strictHostKeyOptions } from "../../components/render/knownHosts";
import { describeRoot } from "../helpers/root";
import { Lab, Netns } from "../lab/harness";

const dir = mkdtempSync(path.join(tmpdir(), "hm-hostkeys-"));
let made = 0;
function keygen(type: string): { pub: string; privateFile: string } {
    const file = path.join(dir, `host_${type}_${made++}`);
    const r = spawnSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "root@vps", "-f", file], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ssh-keygen -t ${type}: ${r.stderr}`);
    return { pub: readFileSync(`${file}.pub`, "utf8"), privateFile: file };
}

describe("homemail:<host>.sshHostKey, as OpenSSH writes host keys", () => {
    const keys = Object.fromEntries(["ed25519", "ecdsa", "rsa"].map((t) => [t, keygen(t)]));

    it.each(["ed25519", "ecdsa", "rsa"])("accepts an %s host key as ssh-keygen prints it, without its comment", (type) => {
        const parsed = parseSshHostKey(keys[type].pub);
        expect(typeof parsed).toBe("string");
        expect(keys[type].pub.startsWith(`${parsed as string} `)).toBe(true);
        // ssh-keygen reads the canonical form back as the same key (same fingerprint).
        const file = path.join(dir, `canonical-${type}.pub`);
        writeFileSync(file, `${parsed as string}\n`);
        const fp = (f: string) => spawnSync("ssh-keygen", ["-l", "-f", f], { encoding: "utf8" }).stdout.split(" ")[1];
        expect(fp(file)).toBe(fp(`${keys[type].privateFile}.pub`));
    });

    it("accepts an ssh-keyscan / known_hosts line (host name first)", () => {
        expect(parseSshHostKey(`vps.example.net ${keys.ed25519.pub}`)).toBe(parseSshHostKey(keys.ed25519.pub));
    });

    it("refuses what is not one host key, saying why", () => {
        const [type, data] = keys.ed25519.pub.split(" ");
        const rsaData = keys.rsa.pub.split(" ")[1];
        const problem = (t: string) => {
            const r = parseSshHostKey(t);
            return typeof r === "string" ? r : r.problem;
        };
        expect(problem(type)).toMatch(/not one SSH public key/);
        expect(problem(`${type} ${data.slice(0, 20)}`)).toMatch(/not base64|does not hold one/);
        expect(problem(`${type} ${rsaData}`)).toMatch(/not a ssh-ed25519 public key/);
        expect(problem(`ssh-dss ${data}`)).toMatch(/key type "ssh-dss"/);
        expect(problem(`${keys.ed25519.pub}${keys.rsa.pub}`)).toMatch(/not one SSH public key/);
        expect(problem(readFileSync(keys.ed25519.privateFile, "utf8"))).toMatch(/is a private key/);
    });

    it("builds known_hosts lines that ssh-keygen -F finds, on port 22 and off it", () => {
        const key = parseSshHostKey(keys.ed25519.pub) as string;
        const file = path.join(dir, "known_hosts");
        const targets = [{ host: "203.0.113.10", port: 22 }, { host: "vps.example.net", port: 2222 }, { host: "[2001:db8::10]", port: 22 }, { host: "[2001:db8::10]", port: 2200 }];
        writeFileSync(file, targets.map((t) => `${knownHostsLine(t, key)}\n`).join(""));
        for (const t of targets) {
            const r = spawnSync("ssh-keygen", ["-F", knownHostsName(t.host, t.port), "-f", file], { encoding: "utf8" });
            expect([t, r.status]).toEqual([t, 0]);
        }
        expect(knownHostsName("[2001:db8::10]", 22)).toBe("2001:db8::10");
        expect(knownHostsName("[2001:db8::10]", 2200)).toBe("[2001:db8::10]:2200");
    });
});

describeRoot("the system ssh with homemail's known_hosts options, against a real sshd", () => {
    const host = keygen("ed25519");
    const other = keygen("ecdsa");
    let lab: Lab;
    let ns: Netns;

    beforeAll(() => {
        lab = new Lab("hkey");
        ns = lab.netns("sshd");
        const config = path.join(dir, "sshd_config");
        writeFileSync(config, ["ListenAddress 127.0.0.1:2222", `HostKey ${host.privateFile}`, "PidFile none", "UsePAM no", "PasswordAuthentication no", ""].join("\n"));
        ns.spawn(["/usr/sbin/sshd", "-D", "-e", "-f", config]);
        const deadline = Date.now() + 10_000;
        while (!ns.listening(2222)) if (Date.now() > deadline) throw new Error("sshd did not start");
    });
    afterAll(() => lab?.cleanup());

    const connect = (key: string) => {
        const file = path.join(dir, `known_hosts-${made++}`);
        writeFileSync(file, `${knownHostsLine({ host: "127.0.0.1", port: 2222 }, key)}\n`);
        return ns.run(["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityFile=/dev/null", "-p", "2222", ...strictHostKeyOptions(file), "nobody@127.0.0.1", "true"], { allowFailure: true, timeoutMs: 15_000 });
    };

    it("gets past the host key check when the configured key is the host's (then fails only at login)", () => {
        const r = connect(parseSshHostKey(host.pub) as string);
        expect(r.stderr).not.toMatch(/Host key verification failed/);
        expect(r.stderr).toMatch(/Permission denied/);
    });

    it("refuses to talk to a host whose key is not the configured one, before anything is sent", () => {
        const r = connect(parseSshHostKey(other.pub) as string);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/Host key verification failed/);
    });
});
