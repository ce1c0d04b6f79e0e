/**
 * Lab: the gateway preflight (assets/gateway/preflight.sh, with the arguments the component passes:
 * gatewayPreflightArgs) on a "vps" namespace where real processes listen on the public ports, read by
 * the real `ss`. Docker is a stand-in that reports versions and, for homemail's compose project, the
 * PIDs `docker top` would list.
 *
 * Proves: a process on a port of the port table stops the deploy with its name, PID and what to do;
 * homemail's own gateway containers holding every port (a re-run) pass; with an existing Traefik, a
 * process named traefik may hold Traefik's ports, but not HAProxy's.
 */
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseModel } from "../../components/config";
import { gatewayPreflightArgs } from "../../components/render/gateway";
import { describeRoot } from "../helpers/root";
import { devModel, REPO_ROOT, withConfig } from "../helpers/stack";
import { Background, Lab, Netns, run, waitFor } from "./harness";

const SCRIPT = path.join(REPO_ROOT, "assets", "gateway", "preflight.sh");
const LISTENERS = path.join(__dirname, "support", "listeners.py");
const TRAEFIK_PORTS = [80, 443, 465, 993, 995, 4190];

describeRoot("lab: the gateway preflight finds what holds the public ports", () => {
    const dev = devModel();
    const existing = parseModel(withConfig([{ key: "homemail:gateway", value: { existingTraefikDynamicDir: "/opt/traefik/dynamic" } }]));
    let lab: Lab;
    let vps: Netns;
    let bin: string;
    let ownPids: string;

    /** A listener on `ports` whose process is named `name` (the kernel's comm: the file name it ran as). */
    const listen = (name: string, address: string, ports: number[]): Background => {
        const exe = path.join(lab.dir, "names", name);
        mkdirSync(path.dirname(exe), { recursive: true });
        try {
            symlinkSync(run(["readlink", "-f", "/usr/bin/python3"]).stdout.trim(), exe);
        } catch {
            // already made for an earlier listener of that name
        }
        const bg = vps.spawn([exe, LISTENERS, address, `tcp:${ports.join(",")}`]);
        waitFor(() => ports.every((p) => vps.listening(p)), 10_000, `${name} did not listen on ${ports.join(",")}`);
        return bg;
    };
    const preflight = (args: string[]) =>
        vps.run(["bash", SCRIPT, ...args], { allowFailure: true, env: { PATH: `${bin}:${process.env.PATH}`, FAKE_OWN_PIDS: ownPids } });
    const own = (...bgs: Background[]) => writeFileSync(ownPids, bgs.map((b) => `${b.pid}\n`).join(""));

    beforeAll(() => {
        lab = new Lab("gp");
        vps = lab.netns("vps");
        vps.run(["ip", "link", "set", "lo", "up"]);
        bin = path.join(lab.dir, "bin");
        mkdirSync(bin);
        ownPids = path.join(lab.dir, "own-pids");
        writeFileSync(ownPids, "");
        // docker: versions; `ps -q --filter label=com.docker.compose.project=homemail-gateway` lists one
        // container while FAKE_OWN_PIDS has PIDs, and `top` lists them.
        writeFileSync(
            path.join(bin, "docker"),
            [
                "#!/bin/bash",
                'case "$1" in',
                "version) echo 27.3.1 ;;",
                'compose) echo "v2.29.7" ;;',
                'ps) [[ "$*" == *"label=com.docker.compose.project=homemail-gateway"* && -s $FAKE_OWN_PIDS ]] && echo 0123456789ab; exit 0 ;;',
                'top) echo PID; cat "$FAKE_OWN_PIDS" ;;',
                "*) exit 99 ;;",
                "esac",
                "",
            ].join("\n"),
        );
        chmodSync(path.join(bin, "docker"), 0o755);
    }, 30_000);

    afterAll(() => lab?.cleanup());

    it("passes the port table and the compose project (and --existing-traefik) as the component does", () => {
        expect(gatewayPreflightArgs(dev)).toEqual(["--firewall", "--ports", "haproxy:25,traefik:80,traefik:443,traefik:465,traefik:993,traefik:995,traefik:4190", "--project", "homemail-gateway"]);
        expect(gatewayPreflightArgs(existing)).toContain("--existing-traefik");
    });

    it("passes on a VPS where nothing holds the ports", () => {
        const r = preflight(gatewayPreflightArgs(dev));
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
    });

    it("names the process holding a port (an exim on 25, a web server on loopback 443) and changes nothing", () => {
        const exim = listen("exim4", "0.0.0.0", [25]);
        const web = listen("nginx", "127.0.0.1", [443]);
        try {
            const r = preflight(gatewayPreflightArgs(dev));
            expect(r.status).toBe(1);
            expect(r.stderr).toContain(`homemail preflight: port 25 (for haproxy) is in use by exim4 (pid ${exim.pid}): a mail server runs on the VPS, which must not store mail: stop and disable it (systemctl disable --now exim4)`);
            expect(r.stderr).toContain(`homemail preflight: port 443 (for traefik) is in use by nginx (pid ${web.pid}): a web server runs on the VPS`);
            expect(r.stderr).toContain("2 problem(s) on this VPS; nothing was changed");
        } finally {
            lab.stop(exim.pid);
            lab.stop(web.pid);
        }
    });

    it("passes when re-run on a running gateway (its containers hold every port), not when another Traefik does", () => {
        const haproxy = listen("haproxy", "0.0.0.0", [25]);
        const traefik = listen("traefik", "0.0.0.0", TRAEFIK_PORTS);
        try {
            own(haproxy, traefik);
            const again = preflight(gatewayPreflightArgs(dev));
            expect(again.stderr).toBe("");
            expect(again.status).toBe(0);
            own();
            const foreign = preflight(gatewayPreflightArgs(dev));
            expect(foreign.status).toBe(1);
            expect(foreign.stderr).toContain(`port 80 (for traefik) is in use by traefik (pid ${traefik.pid}): a Traefik not started by homemail: to keep it, set homemail:gateway.existingTraefikDynamicDir`);
        } finally {
            own();
            lab.stop(haproxy.pid);
            lab.stop(traefik.pid);
        }
    });

    it("with gateway.existingTraefikDynamicDir, the user's Traefik may hold Traefik's ports, not HAProxy's", () => {
        const traefik = listen("traefik", "0.0.0.0", TRAEFIK_PORTS);
        try {
            const ok = preflight(gatewayPreflightArgs(existing));
            expect(ok.stderr).toBe("");
            expect(ok.status).toBe(0);
        } finally {
            lab.stop(traefik.pid);
        }
        const on25 = listen("traefik", "0.0.0.0", [25]);
        try {
            const r = preflight(gatewayPreflightArgs(existing));
            expect(r.status).toBe(1);
            expect(r.stderr).toContain(`port 25 (for haproxy) is in use by traefik (pid ${on25.pid})`);
        } finally {
            lab.stop(on25.pid);
        }
    });
});
