/**
 * Lab: the systemctl stand-in on SSH lab hosts (tests/lab/harness/systemctl-standin.sh), driven the
 * way homemail's remote steps drive systemd: `sudo -n systemctl ...` over SSH as the non-root user.
 *
 * Proves: Exec* lines run in order in a clean environment with Environment=/EnvironmentFile=;
 * oneshot + RemainAfterExit stays active (a second start runs nothing); enable/disable write and
 * remove exactly the [Install] symlinks systemctl writes; a failing ExecStart fails the command and
 * runs ExecStopPost; a lab "reboot" leaves units enabled but inactive; and Debian's real
 * wg-quick@.service brings wg0 up (wireguard-go) and `disable --now` takes it down again.
 */
import { describeRoot } from "../helpers/root";
import { Lab } from "./harness";
import { SshHost, startSshHost } from "./harness/sshHost";

const UNIT = "/etc/systemd/system/lab-demo.service";
const MARKS = "/var/lib/lab-demo/marks";

describeRoot("lab: the systemctl stand-in runs installed units over SSH + sudo", () => {
    let lab: Lab;
    let h: SshHost;
    const sudo = (cmd: string, allowFailure = false) => h.operator.run(["ssh", `${h.user}@${h.address}`, `sudo -n ${cmd}`], { allowFailure, timeoutMs: 60_000 });
    const marks = () => h.host.run(["sh", "-c", `cat ${MARKS} 2>/dev/null || true`]).stdout.trim().split("\n").filter(Boolean);
    const clearMarks = () => h.host.run(["rm", "-f", MARKS]);

    beforeAll(() => {
        lab = new Lab("sctl");
        h = startSshHost(lab, { name: "vps", address: "203.0.113.10", user: "deploy" });
        h.host.install("/etc/lab-demo.env", "FROM_FILE='from file'\n# a comment\n");
        h.host.install(
            UNIT,
            [
                "[Unit]",
                "Description=lab demo",
                "[Service]",
                "Type=oneshot",
                "RemainAfterExit=yes",
                'Environment=GREETING=hello "SPACED=a b"',
                "EnvironmentFile=/etc/lab-demo.env",
                "EnvironmentFile=-/etc/missing.env",
                `ExecStartPre=/bin/mkdir -p /var/lib/lab-demo`,
                `ExecStart=/bin/sh -c 'echo "start $GREETING|$SPACED|$FROM_FILE|sudo_user=$SUDO_USER|pwd=$(pwd)" >> ${MARKS}'`,
                `ExecStartPost=/bin/sh -c 'echo post >> ${MARKS}'`,
                `ExecStop=/bin/sh -c 'echo stop >> ${MARKS}'`,
                "[Install]",
                "WantedBy=multi-user.target",
                "",
            ].join("\n"),
        );
        h.host.install(
            "/etc/systemd/system/lab-fails.service",
            ["[Service]", "Type=oneshot", "ExecStart=/bin/false", `ExecStopPost=/bin/sh -c 'echo stop-post >> ${MARKS}'`, ""].join("\n"),
        );
    }, 60_000);

    afterAll(() => lab?.cleanup());

    it("is the stand-in, found first by sudo", () => {
        expect(sudo("sh -c 'command -v systemctl'").stdout.trim()).toBe("/usr/local/bin/systemctl");
    });

    it("starts a oneshot unit: Exec* in order, clean environment, Environment= and EnvironmentFile=", () => {
        clearMarks();
        sudo("systemctl daemon-reload");
        sudo("systemctl start lab-demo");
        expect(marks()).toEqual(["start hello|a b|from file|sudo_user=|pwd=/", "post"]);
        expect(sudo("systemctl is-active lab-demo").stdout.trim()).toBe("active");
        sudo("systemctl start lab-demo.service");
        expect(marks()).toHaveLength(2);
        sudo("systemctl restart lab-demo");
        expect(marks().slice(2)).toEqual(["stop", "start hello|a b|from file|sudo_user=|pwd=/", "post"]);
        sudo("systemctl stop lab-demo");
        const r = sudo("systemctl is-active lab-demo", true);
        expect([r.status, r.stdout.trim()]).toEqual([3, "inactive"]);
    });

    it("enable and disable write and remove the WantedBy= symlink; twice is a no-op", () => {
        const link = "/etc/systemd/system/multi-user.target.wants/lab-demo.service";
        expect(sudo("systemctl is-enabled lab-demo", true).stdout.trim()).toBe("disabled");
        sudo("systemctl enable lab-demo");
        expect(h.host.run(["readlink", link]).stdout.trim()).toBe(UNIT);
        expect(sudo("systemctl enable lab-demo").stderr).toBe("");
        expect(sudo("systemctl is-enabled lab-demo").stdout.trim()).toBe("enabled");
        sudo("systemctl disable lab-demo");
        expect(h.host.run(["test", "-e", link], { allowFailure: true }).status).toBe(1);
        expect(sudo("systemctl disable lab-demo").status).toBe(0);
    });

    it("fails the command when ExecStart fails, runs ExecStopPost, and reports the unit failed", () => {
        clearMarks();
        const r = sudo("systemctl start lab-fails", true);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain("Job for lab-fails.service failed");
        expect(marks()).toEqual(["stop-post"]);
        expect(sudo("systemctl is-failed lab-fails").stdout.trim()).toBe("failed");
        expect(sudo("systemctl start no-such-unit", true).stderr).toContain("Unit no-such-unit.service not found");
    });

    it("after a lab reboot (/run wiped), an enabled unit is enabled but inactive", () => {
        sudo("systemctl enable --now lab-demo");
        expect(sudo("systemctl is-active lab-demo").stdout.trim()).toBe("active");
        h.host.wipeRun();
        h.host.run(["install", "-d", "-m", "0755", "/run/sshd"]);
        expect(sudo("systemctl is-active lab-demo", true).stdout.trim()).toBe("inactive");
        expect(sudo("systemctl is-enabled lab-demo").stdout.trim()).toBe("enabled");
        sudo("systemctl disable --now lab-demo");
    });

    it("runs Debian's wg-quick@.service: the program's enable + restart brings wg0 up, disable --now takes it down", () => {
        const key = h.host.run(["wg", "genkey"]).stdout.trim();
        h.host.install("/etc/wireguard/wg0.conf", `[Interface]\nAddress = 10.99.0.1/24\nListenPort = 51820\nPrivateKey = ${key}\n`, "0600");
        sudo("sh -c 'systemctl enable wg-quick@wg0 && systemctl restart wg-quick@wg0'");
        expect(h.host.run(["readlink", "/etc/systemd/system/multi-user.target.wants/wg-quick@wg0.service"]).stdout.trim()).toBe("/lib/systemd/system/wg-quick@.service");
        expect(h.host.run(["wg", "show", "wg0", "listen-port"]).stdout.trim()).toBe("51820");
        expect(sudo("systemctl is-active wg-quick@wg0").stdout.trim()).toBe("active");
        const daemons = () => h.host.run(["pgrep", "-x", "wireguard-go"], { allowFailure: true }).stdout.split("\n").filter(Boolean).map(Number)
            .filter((pid) => h.host.processes().includes(pid));
        expect(daemons()).toHaveLength(1);
        sudo("systemctl disable --now wg-quick@wg0");
        expect(h.host.run(["ip", "link", "show", "wg0"], { allowFailure: true }).status).not.toBe(0);
        expect(sudo("systemctl is-enabled wg-quick@wg0", true).stdout.trim()).toBe("disabled");
        for (let i = 0; i < 50 && daemons().length; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        expect(daemons()).toEqual([]);
    });

    it("reports docker.service as the harness's (inactive without an engine) and refuses to manage it", () => {
        expect(sudo("systemctl is-active docker", true).stdout.trim()).toBe("inactive");
        expect(sudo("systemctl stop docker", true).stderr).toContain("lab harness's dockerd");
    });
});
