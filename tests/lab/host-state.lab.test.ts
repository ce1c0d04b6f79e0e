/**
 * Lab: the host-state snapshot (tests/lab/harness/hostState.ts) that the real run's destroy check
 * compares: it is stable when nothing changes, names every kind of change homemail's steps make
 * (packet filter, policy routing, routes, sysctls, units, files), and is equal again after undo.
 */
import { describeRoot } from "../helpers/root";
import { Lab } from "./harness";
import { hostState, stateDiff } from "./harness/hostState";
import { SshHost, startSshHost } from "./harness/sshHost";

describeRoot("lab: a host's state before and after, compared", () => {
    let lab: Lab;
    let h: SshHost;
    const sudo = (cmd: string) => h.operator.run(["ssh", `${h.user}@${h.address}`, `sudo -n sh -c '${cmd}'`], { timeoutMs: 60_000 });

    beforeAll(() => {
        lab = new Lab("hst");
        h = startSshHost(lab, { name: "vps", address: "203.0.113.10", user: "deploy" });
        h.host.install("/etc/systemd/system/lab-mark.service", "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n");
    }, 60_000);

    afterAll(() => lab?.cleanup());

    it("is stable when nothing changes, names each change, and is equal again after undo", () => {
        const t0 = Date.now();
        const before = hostState(h.host);
        const took = Date.now() - t0;
        expect(before.files.length).toBeGreaterThan(100);
        expect(stateDiff(before, hostState(h.host))).toEqual([]);

        sudo(
            [
                "iptables -N HM-TEST",
                "iptables -A INPUT -p tcp --dport 2525 -j HM-TEST",
                "ip rule add fwmark 0x1 table 100",
                "ip route add 10.9.9.0/24 dev lo table 100",
                "sysctl -q -w net.ipv4.ip_forward=1",
                "mkdir -p /opt/homemail && echo x > /opt/homemail/x",
                "chmod 0600 /etc/systemd/system/lab-mark.service",
                "systemctl enable --now lab-mark 2>/dev/null",
            ].join(" && "),
        );
        const changed = stateDiff(before, hostState(h.host));
        const sections = [...new Set(changed.map((l) => l.split(":")[0]))].sort();
        expect(sections).toEqual(["files", "ip rule", "iptables", "routes", "sysctls", "units"]);
        expect(changed).toEqual(expect.arrayContaining([
            "iptables: + :HM-TEST - [0:0]".replace(" [0:0]", ""),
            "ip rule: + 32765:\tfrom all fwmark 0x1 lookup 100",
            "sysctls: + net.ipv4.ip_forward = 1",
            "units: + lab-mark.service.active",
        ]));
        expect(changed.some((l) => /^files: \+ \/opt\/homemail\/x f 644 root:root [0-9a-f]{16}$/.test(l))).toBe(true);
        expect(changed.some((l) => l.startsWith("files: + /etc/systemd/system/lab-mark.service f 600"))).toBe(true);
        expect(changed.some((l) => l.startsWith("files: + /etc/systemd/system/multi-user.target.wants/lab-mark.service l -> "))).toBe(true);

        sudo(
            [
                "systemctl disable --now lab-mark 2>/dev/null",
                "chmod 0644 /etc/systemd/system/lab-mark.service",
                "rm -r /opt/homemail",
                "sysctl -q -w net.ipv4.ip_forward=0",
                "ip route del 10.9.9.0/24 dev lo table 100",
                "ip rule del fwmark 0x1 table 100",
                "iptables -D INPUT -p tcp --dport 2525 -j HM-TEST",
                "iptables -X HM-TEST",
            ].join(" && "),
        );
        expect(stateDiff(before, hostState(h.host))).toEqual([]);
        process.stderr.write(`host state: ${before.files.length} file entries, read in ${took} ms\n`);
    });
});
