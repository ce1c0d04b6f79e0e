/**
 * End to end, the web side of the gateway: clients out on the lab's Internet find users' OpenPGP
 * keys through WKD and the domains' MTA-STS policy, over HTTPS, through the VPS (the rendered WKD
 * nginx behind the rendered Traefik routes, played by nginx with a lab CA that only the client's
 * private /etc trusts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describeRoot } from "../helpers/root";
import { Host, Lab, run } from "../lab/harness";
import { startHttpsFront } from "./lab/vps";
import { buildGatewayLab, cleanupLab, GatewayLab } from "./lab/topology";

/** Fingerprints (colon listing `fpr` records) of the primary keys in gpg output. */
const fingerprints = (colons: string) => colons.split("\n").filter((l) => l.startsWith("fpr:")).map((l) => l.split(":")[9]);

/** The fingerprint of an armored public key, read by gpg itself (no keyring touched). */
function fingerprintOf(armored: string, scratch: string): string {
    mkdirSync(scratch, { recursive: true, mode: 0o700 });
    const out = run(["gpg", "--homedir", scratch, "--batch", "--with-colons", "--show-keys"], { input: armored }).stdout;
    return fingerprints(out)[0];
}

/** A gpg home for one client, whose helper daemons the lab stops by PID. */
function gpgHome(lab: Lab, client: Host, dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // getaddrinfo (the resolver in /etc/resolv.conf) rather than dirmngr's own DNS code.
    writeFileSync(path.join(dir, "dirmngr.conf"), "standard-resolver\n");
    const gpg = (args: readonly string[]) => client.run(["gpg", "--homedir", dir, "--batch", "--no-tty", ...args], { timeoutMs: 60_000, allowFailure: true });
    /** gpg starts dirmngr (and maybe gpg-agent) as daemons in their own sessions: adopt them. */
    const adoptDaemons = () => {
        for (const daemon of ["--dirmngr", ""]) {
            const args = ["gpg-connect-agent", "--homedir", dir, "--no-autostart", ...(daemon ? [daemon] : []), "getinfo pid", "/bye"];
            const pid = /^D (\d+)$/m.exec(client.run(args, { allowFailure: true }).stdout)?.[1];
            if (pid) lab.adopt(Number(pid));
        }
    };
    return { gpg, adoptDaemons };
}

describeRoot("e2e: WKD and MTA-STS over HTTPS through the VPS", () => {
    let gw: GatewayLab;
    let wkdLog: () => string;
    const started = Date.now();

    beforeAll(() => {
        gw = buildGatewayLab("e2ew");
        const { ca, wkd } = startHttpsFront(gw.lab, gw.vps, gw.rendered, gw.model);
        wkdLog = wkd.log;
        // The client trusts the lab CA through its own /etc only (its mount namespace's overlay).
        gw.internet.remote.install("/etc/ssl/certs/ca-certificates.crt", ca.certificate());
    }, 180_000);

    afterAll(() => {
        expect(cleanupLab(gw?.lab, "e2e wkd", started)).toEqual([]);
    });

    it("gpg --locate-external-keys finds each published user's key by WKD, and it is the configured key", () => {
        const published = gw.model.users.filter((u) => u.openpgpPublicKey);
        expect(published.length).toBeGreaterThan(0);
        const home = gpgHome(gw.lab, gw.internet.remote, path.join(gw.lab.dir, "gnupg-client"));
        try {
            for (const u of published) {
                const found = home.gpg(["--with-colons", "--locate-external-keys", "--auto-key-locate", "clear,nodefault,wkd", u.address]);
                expect({ status: found.status, stderr: found.stderr }).toMatchObject({ status: 0 });
                expect(found.stderr).toMatch(/imported: 1/);
                expect(fingerprints(found.stdout)).toContain(fingerprintOf(u.openpgpPublicKey!, path.join(gw.lab.dir, `gnupg-${u.localPart}`)));
                // Served by the rendered WKD site (advanced method), through the TLS front.
                expect(wkdLog()).toMatch(new RegExp(`"GET /\\.well-known/openpgpkey/${u.domain.replace(/\./g, "\\.")}/hu/\\w+\\?l=${u.localPart} HTTP/1\\.1" 200 `));
            }
        } finally {
            home.adoptDaemons();
        }
    }, 90_000);

    it("a sending MTA gets the MTA-STS policy the render publishes, and its mx is the domain's MX", () => {
        const remote = gw.internet.remote;
        for (const d of gw.model.domains) {
            const policy = remote.run(["curl", "-sS", "--fail", "--max-time", "10", `https://${d.mtaStsHost}/.well-known/mta-sts.txt`]).stdout;
            expect(policy).toBe(gw.rendered.text("vps", "/opt/homemail/gateway/wkd/public/.well-known/mta-sts.txt"));
            const mx = remote.run(["dig", "+short", "MX", d.name]).stdout.trim().split(/\s+/)[1]?.replace(/\.$/, "");
            expect(policy.split("\r\n")).toContain(`mx: ${mx}`);
            expect(remote.run(["dig", "+short", "TXT", `_mta-sts.${d.name}`]).stdout).toMatch(/v=STSv1; id=/);
        }
    });
});
