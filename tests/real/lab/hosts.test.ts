/**
 * The real run's lab hosts (tests/real/lab/hosts.ts) at the dev stack's addresses, as the Pulumi
 * engine in the operator namespace will find them.
 *
 * Proves: the lab stack config parses and logs in as a non-root user; each host is reached over SSH
 * at the stack's sshHost with only the recorded host key, runs `sudo -n`, and has a Docker engine
 * that answers over `ssh://` and pulls Docker Hub names from the lab registry; the sites reach each
 * other only through the ISP (UDP from the home WAN address arrives at the VPS public address); the
 * operator has no route to the ISP; cleanup leaves nothing behind.
 */
import { parseModel } from "../../../components/config";
import { describeRoot } from "../../helpers/root";
import { stackInput, withConfig } from "../../helpers/stack";
import { alive, waitForAsync } from "../../lab/harness";
import { busyboxStandIn, pushToRegistry } from "../../lab/harness/images";
import { buildRealHosts, LAB_SSH_USER, RealHosts } from "./hosts";

describeRoot("real run: the lab hosts at the dev stack's addresses", () => {
    let r: RealHosts;
    let image: string;
    const started = Date.now();

    beforeAll(() => {
        r = buildRealHosts("rh");
        const engine = r.vps.engine!;
        image = busyboxStandIn(engine);
        pushToRegistry(engine, r.registry, image, `library/${image}`);
        process.stderr.write(`real hosts up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }, 120_000);

    afterAll(() => r?.lab.cleanup());

    it("the lab stack config parses and logs in as the non-root lab user at the stack's addresses", () => {
        const m = parseModel(withConfig(r.stackConfig, stackInput()));
        expect([m.vps.ssh.user, m.home.ssh.user]).toEqual([LAB_SSH_USER, LAB_SSH_USER]);
        expect([m.vps.ssh.host, m.home.ssh.host]).toEqual([r.vps.ssh.address, r.home.ssh.address]);
        expect(m.vps.ssh.privateKey).toBeUndefined();
    });

    it.each(["vps", "home"] as const)("%s: ssh with the recorded host key, sudo -n, docker over ssh:// pulling from the lab registry", (name) => {
        const site = r[name];
        const out = r.operator.run(["ssh", "-o", "StrictHostKeyChecking=yes", `${site.ssh.user}@${site.ssh.address}`, "sudo -n id -u"]).stdout.trim();
        expect(out).toBe("0");
        expect(site.engine!.dockerOverSsh(["version", "--format", "{{.Server.Version}}"]).stdout.trim()).toMatch(/^20\.10\./);
        site.engine!.dockerOverSsh(["pull", "-q", image], { timeoutMs: 60_000 });
        expect(site.engine!.dockerOverSsh(["image", "inspect", image, "--format", "{{json .RepoDigests}}"]).stdout).toMatch(/busybox@sha256:/);
    });

    it("the sites reach each other through the ISP, from their public addresses; the operator cannot", async () => {
        const a = r.model.addresses;
        const vps = r.vps.ssh.host;
        // The peer's address goes to socat's stderr, which the lab captures.
        const listener = vps.spawn(["socat", "-u", `UDP-RECVFROM:${a.wgPort},bind=${a.vpsPublicIp}`, "SYSTEM:echo from $SOCAT_PEERADDR >&2"]);
        await waitForAsync(() => vps.run(["ss", "-Hlun", `sport = :${a.wgPort}`]).stdout.trim() !== "", 5000, "socat did not listen");
        r.home.ssh.host.sh(`echo ping | socat -u - UDP-SENDTO:${a.vpsPublicIp}:${a.wgPort}`);
        await waitForAsync(() => listener.output().includes("from "), 5000, "no datagram reached the VPS");
        expect(listener.output()).toContain(`from ${a.homeWanIp}`);
        r.lab.stop(listener.pid);
        expect(r.home.ssh.host.run(["ip", "route", "get", a.vpsPublicIp]).stdout).toContain("dev eth0");
        expect(r.operator.place.run(["ip", "route", "get", a.homeWanIp], { allowFailure: true }).status).not.toBe(0);
    });

    it("cleans up every process and namespace", () => {
        const pids = [r.vps, r.home].flatMap((s) => s.ssh.host.processes());
        expect(pids.length).toBeGreaterThan(4);
        r.lab.cleanup();
        expect(r.lab.leftovers()).toEqual([]);
        for (const pid of [...pids, r.registry.process.pid, r.operator.agent.pid]) expect([pid, alive(pid)]).toEqual([pid, false]);
    });
});
