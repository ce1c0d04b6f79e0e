/**
 * Lab: an SSH lab host as the real engine will reach it (tests/lab/harness/sshHost.ts).
 *
 *   operator (private HOME, known_hosts, ssh-agent) ==veth== vps 203.0.113.10 (sshd, user deploy)
 *
 * Proves: the NON-root user logs in from the operator namespace with StrictHostKeyChecking=yes and
 * only the recorded host key, through the agent; `sudo -n` works without a password; a wrong
 * recorded key is refused; the host's /etc/ssh, /home and /run are its own; the machine's ~/.ssh is
 * not used; and cleanup leaves no namespace or process behind.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { describeRoot } from "../helpers/root";
import { alive, Lab, run } from "./harness";
import { SshHost, startSshHost } from "./harness/sshHost";

const VPS = "203.0.113.10";

describeRoot("lab: an sshd host with a sudo user, reached from the operator namespace", () => {
    let lab: Lab;
    let vps: SshHost;
    const started = Date.now();

    beforeAll(() => {
        lab = new Lab("ssh");
        vps = startSshHost(lab, { name: "vps", address: VPS, user: "deploy" });
        process.stderr.write(`ssh host up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }, 60_000);

    afterAll(() => lab?.cleanup());

    it("logs the non-root user in with StrictHostKeyChecking=yes and the recorded host key", () => {
        const r = vps.operator.run([
            "ssh",
            "-o", "StrictHostKeyChecking=yes",
            "-o", `UserKnownHostsFile=${vps.operator.knownHostsPath}`,
            "-o", "IdentitiesOnly=no",
            `${vps.user}@${vps.address}`,
            "id -un; id -u; echo $SSH_CONNECTION",
        ]);
        const [name, uid, conn] = r.stdout.trim().split("\n");
        expect(name).toBe("deploy");
        expect(Number(uid)).toBeGreaterThan(0);
        expect(conn.split(" ")[2]).toBe(VPS);
        expect(readFileSync(vps.operator.knownHostsPath, "utf8")).toContain(vps.hostKeyLine);
    });

    it("authenticates with the agent's key (no key file given to ssh)", () => {
        expect(vps.operator.run(["ssh-add", "-L"]).stdout).toContain(vps.operator.publicKey);
        const r = vps.operator.run(["ssh", "-v", `${vps.user}@${vps.address}`, "true"]);
        expect(r.stderr).toMatch(/Server accepts key: .*agent/);
    });

    it("runs sudo -n as root without a password", () => {
        expect(vps.operator.ssh(vps, ["sudo", "-n", "id", "-u"]).stdout.trim()).toBe("0");
        expect(vps.operator.ssh(vps, ["sudo", "-n", "true"]).status).toBe(0);
    });

    it("refuses a host whose key is not the recorded one", () => {
        const wrongKey = path.join(lab.dir, "wrong");
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", wrongKey]);
        const wrongKnown = path.join(lab.dir, "known_hosts.wrong");
        writeFileSync(wrongKnown, `${VPS} ${readFileSync(`${wrongKey}.pub`, "utf8").split(" ").slice(0, 2).join(" ")}\n`);
        const r = vps.operator.run(["ssh", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${wrongKnown}`, `${vps.user}@${vps.address}`, "echo reached"], { allowFailure: true });
        expect(r.status).toBe(255);
        expect(r.stdout).not.toContain("reached");
        expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    });

    it("refuses root and unknown users", () => {
        for (const user of ["root", "nobody"]) {
            const r = vps.operator.run(["ssh", `${user}@${vps.address}`, "true"], { allowFailure: true });
            expect(r.status).toBe(255);
            expect(r.stderr).toContain("Permission denied");
        }
    });

    it("keeps /etc/ssh, /home and /run private to the host, and the machine's ~/.ssh untouched", () => {
        const hostKey = vps.host.run(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).stdout;
        const machineKey = existsSync("/etc/ssh/ssh_host_ed25519_key.pub") ? readFileSync("/etc/ssh/ssh_host_ed25519_key.pub", "utf8") : "";
        expect(hostKey).not.toBe(machineKey);
        expect(existsSync("/home/deploy")).toBe(false);
        expect(vps.host.run(["test", "-d", "/home/deploy"], { allowFailure: true }).status).toBe(0);
        expect(existsSync("/run/sshd.pid")).toBe(false);
        expect(run(["getent", "passwd", "deploy"], { allowFailure: true }).status).not.toBe(0);
        // The operator's ~ is its own: the machine's known_hosts never learns a lab key.
        const machineKnown = path.join(homedir(), ".ssh", "known_hosts");
        expect(existsSync(machineKnown) ? readFileSync(machineKnown, "utf8") : "").not.toContain(vps.hostPublicKey);
        expect(vps.operator.run(["sh", "-c", "echo ~"]).stdout.trim()).toBe("/root");
        expect(vps.operator.run(["cat", "/root/.ssh/known_hosts"]).stdout).toContain(vps.hostKeyLine);
    });

    it("cleans up every namespace and process", () => {
        const pids = [vps.sshd.pid, vps.operator.agent.pid, vps.host.anchor, vps.operator.place.anchor];
        const inHost = vps.host.processes();
        expect(inHost).toContain(vps.sshd.pid);
        const dir = lab.dir;
        lab.cleanup();
        expect(lab.leftovers()).toEqual([]);
        for (const pid of [...pids, ...inHost]) expect(alive(pid)).toBe(false);
        expect(existsSync(dir)).toBe(false);
        expect(run(["pgrep", "-f", dir], { allowFailure: true }).stdout).toBe("");
    });
});
