/**
 * `homemail doctor` on the e2e lab, run from the lab's Internet like an operator's laptop: the whole
 * rendered topology up, the HTTPS front with a lab CA (`--ca-file`), sshd on both hosts
 * (`--ssh-config`), the stack outputs from a file (`--outputs`), and DNS found through the zones'
 * NS. First every check passes; then faults are injected one at a time, each restored before the
 * next: the fault's own check fails with its fix, the checks that depend on it say skipped, and no
 * other check changes state.
 */
import { copyFileSync, existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../helpers/stack";
import { vpsTlsHosts } from "../../scripts/lib/doctor/checks/tls";
import { describeRoot } from "../helpers/root";
import { Background, run, waitFor } from "../lab/harness";
import { SignedTree } from "./lab/dnssec";
import { startSshd, SshAccess } from "./lab/sshd";
import { buildMailLab, cleanupLab, MailLab } from "./lab/topology";
import { EGRESS_SCRIPT, startHttpsFront, TraefikStandIn } from "./lab/vps";
import { labIpv6 } from "./lab/ipv6";
import { LabCa } from "./lab/labCa";
import { REMOTE_MX_HOST } from "./lab/internet";
import { dockerRawDrop } from "../recordings/commandScenarios";
import { MailuTls, startMailuTls } from "./lab/mailuTls";

const FIREWALL_SCRIPT = "/usr/local/sbin/homemail-gateway-firewall";
/** The lab's blocklist operator: zen.<it> and dbl.<it> play Spamhaus ZEN and DBL (empty: nothing listed). */
const DNSBL_ZONE = "dnsbl.test";

interface Row {
    readonly id: string;
    readonly status: "ok" | "warn" | "fail" | "skipped";
    readonly detail: string;
    readonly fix?: string;
    readonly dependsOn?: string;
}

interface Fault {
    readonly name: string;
    /** The check that must fail, and its fix. */
    readonly check: string;
    readonly fix: RegExp;
    /** Other checks the same fault makes fail by itself (one certificate serving two names). */
    readonly alsoFail?: readonly string[];
    /** Checks that must say "skipped: depends on <check>" (directly or through one another). */
    readonly skipped: readonly string[];
    inject(): void;
    restore(): void;
}

describeRoot("e2e: homemail doctor finds each injected fault, and only it", () => {
    let ml: MailLab;
    let ca: LabCa;
    let traefik: TraefikStandIn;
    let mailuTls: MailuTls;
    let ssh: SshAccess;
    let outputsFile: string;
    let baseline: Row[];
    const reported: string[] = [];
    const started = Date.now();

    beforeAll(() => {
        ml = buildMailLab("e2ed");
        ({ ca, traefik } = startHttpsFront(ml.lab, ml.vps, ml.rendered, ml.model));
        mailuTls = startMailuTls(ml.lab, ml.home, ml.rendered, ml.model, ca);
        ssh = startSshd(ml.lab, [
            { host: ml.vps.host, address: ml.model.addresses.vpsPublicIp },
            // The stack reaches home on its LAN address; from the Internet side an alias takes its WAN address.
            { host: ml.home.host, address: ml.model.addresses.homeWanIp, configuredAs: ml.model.home.ssh.host },
        ]);
        tunnelConfirmed();
        addBlocklistZone();
        signTree();
        outputsFile = path.join(ml.lab.dir, "stack-outputs.json");
        writeFileSync(outputsFile, JSON.stringify({ ...ml.rendered.outputs(), registrarDs: tree.registrarDs() }));
    }, 240_000);

    afterAll(() => {
        if (reported.length) process.stderr.write(`doctor fault table:\n${reported.join("\n")}\n`);
        expect(cleanupLab(ml?.lab, "e2e doctor", started)).toEqual([]);
    });

    const tunnelConfirmed = () => ml.wireguard.confirmHandshake(ml.home.host, ml.vps.host, ml.model.addresses.wgHub);

    function doctor(format: "json" | "table" = "json"): { status: number; stdout: string; stderr: string } {
        const argv = [path.join(REPO_ROOT, "scripts", "homemail"), "doctor", "--stack", "dev", "--outputs", outputsFile, "--ca-file", ca.certFile, "--ssh-config", ssh.configFile,
            "--dnsbl-zone", `zen.${DNSBL_ZONE}`, "--dbl-zone", `dbl.${DNSBL_ZONE}`, "--blocklist-resolver", ml.internet.dnsAddress, "--trust-anchor", tree.trustAnchorFile(), "--egress-probe", REMOTE_MX_HOST];
        return ml.internet.remote.run(format === "json" ? [...argv, "--json"] : argv, { cwd: REPO_ROOT, allowFailure: true, timeoutMs: 120_000 });
    }
    const rows = (): Row[] => {
        const r = doctor();
        expect({ status: r.status, stderr: r.stderr.split("\n").filter((l) => !/^doctor: \[/.test(l)).join("\n") }).toMatchObject({ status: expect.any(Number) });
        return (JSON.parse(r.stdout) as { checks: Row[] }).checks;
    };

    /**
     * The lab's named, zone by zone: each zone's unsigned source is kept; publishing gives it the
     * next serial, signs it when it is part of the signed tree, writes it, adds a zone statement
     * for a new zone, reloads named (SIGHUP) and waits until the new serial answers.
     */
    const sources = new Map<string, string>();
    const signed = new Set<string>();
    let tree: SignedTree;
    let serial = 100;
    let mtime = Math.floor(Date.now() / 1000);
    const namedDir = () => path.join(ml.lab.dir, "named");
    const zoneFile = (zone: string) => path.join(namedDir(), `${zone === "." ? "root" : zone}.zone`);
    function source(zone: string): string {
        if (!sources.has(zone)) sources.set(zone, readFileSync(zoneFile(zone), "utf8"));
        return sources.get(zone)!;
    }
    function publish(zone: string, text: string): void {
        if (!existsSync(zoneFile(zone))) {
            const conf = path.join(namedDir(), "named.conf");
            writeFileSync(conf, `${readFileSync(conf, "utf8")}zone "${zone}" { type primary; file "${path.basename(zoneFile(zone))}"; };\n`);
        }
        sources.set(zone, text);
        const next = String(++serial);
        const numbered = text.replace(/(\sSOA\s+\S+\s+\S+\s+)(\d+)/, (_m, pre: string) => `${pre}${next}`);
        writeFileSync(zoneFile(zone), signed.has(zone) ? tree.sign(zone, numbered) : numbered);
        mtime = Math.max(mtime + 2, Math.floor(Date.now() / 1000) + 2);
        utimesSync(zoneFile(zone), mtime, mtime);
        process.kill(Number(readFileSync(path.join(namedDir(), "named.pid"), "utf8")), "SIGHUP");
        const soa = () => ml.internet.remote.run(["dig", "+short", "+norecurse", `@${ml.internet.dnsAddress}`, zone, "SOA"], { allowFailure: true }).stdout.trim().split(/\s+/)[2];
        waitFor(() => soa() === next, 10_000, `named did not load ${zone} (serial ${next})`);
    }
    function zoneFault(zone: string, edit: (text: string) => string): Pick<Fault, "inject" | "restore"> {
        let original = "";
        return {
            inject: () => {
                original = source(zone);
                const edited = edit(original);
                expect(edited).not.toBe(original);
                publish(zone, edited);
            },
            restore: () => publish(zone, original),
        };
    }
    /** The rendered zone's NS (the lab's name server). */
    const childNs = () => /\sIN\s+NS\s+(\S+)/.exec(source(zone()))![1];

    /** A blocklist zone, nothing listed yet. */
    function addBlocklistZone(): void {
        publish(DNSBL_ZONE, [`$ORIGIN ${DNSBL_ZONE}.`, "$TTL 60", "@ IN SOA ns1.invalid. hostmaster.invalid. 1 7200 3600 1209600 60", "@ IN NS ns1.invalid.", ""].join("\n"));
    }

    /** The stack's zone signed, under a signed lab com. and root (the trust anchor delv gets). */
    function signTree(): void {
        tree = SignedTree.create(path.join(ml.lab.dir, "dnssec"), zone(), ml.internet.dnsAddress);
        for (const z of [zone(), "com", "."]) signed.add(z);
        publish(zone(), source(zone()));
        publish("com", tree.comZone(tree.childDs(), childNs()));
        publish(".", tree.rootZone());
    }

    it("on the healthy lab every check passes (exit 0), and the table lists them by area", () => {
        const table = doctor("table");
        process.stderr.write(`doctor on the healthy lab:\n${table.stdout}`);
        expect({ status: table.status, stdout: table.stdout }).toMatchObject({ status: 0 });
        baseline = rows();
        expect(baseline.filter((r) => r.status !== "ok" && r.id !== "drift.refresh")).toEqual([]);
        // No Pulumi CLI on the lab's PATH: the drift check says so (tests/real/drift.real.test.ts runs it).
        expect(baseline.find((r) => r.id === "drift.refresh")).toMatchObject({ status: "skipped", detail: expect.stringMatching(/^no Pulumi CLI on PATH/) });
        expect(baseline.find((r) => r.id === "exposure.ipv6:vps")).toMatchObject({ status: "ok", detail: expect.stringContaining(labIpv6(ml.model.addresses.vpsPublicIp)) });
        expect(baseline.length).toBeGreaterThan(20);
    }, 120_000);

    const zone = () => ml.model.cloudflare.zones[0].name;
    const domain = () => ml.model.domains[0].name;
    const reverseZone = () => ml.model.addresses.vpsPublicIp.split(".").slice(0, 3).reverse().join(".") + ".in-addr.arpa";
    const wkdKeyFile = () => {
        const p = ml.model.wkd.publications[0];
        return ml.rendered.entries("vps").find((f) => f.path.includes(`/openpgpkey/${p.domain}/hu/`))!;
    };

    /** The end date of the certificate the VPS serves for `host` on 443, as a client sees it. */
    const servedEndDate = (host: string) =>
        ml.internet.remote.sh(`echo | openssl s_client -connect ${ml.model.addresses.vpsPublicIp}:443 -servername ${host} 2>/dev/null | openssl x509 -noout -enddate`, { allowFailure: true }).stdout.trim();
    const tlsHosts = () => vpsTlsHosts(ml.model);
    /** Every certificate of the VPS's HTTPS front re-issued for 3 days, in place; nginx reloaded. */
    function shortCertificates(): Pick<Fault, "inject" | "restore"> {
        const dir = path.join(ml.lab.dir, "lab-ca");
        let saved: { file: string; bytes: Buffer }[] = [];
        const reload = () => {
            const before = tlsHosts().map(servedEndDate).join();
            process.kill(Number(readFileSync(path.join(ml.lab.dir, "traefik-stand-in", "nginx.pid"), "utf8")), "SIGHUP");
            waitFor(() => tlsHosts().map(servedEndDate).join() !== before, 10_000, "nginx did not reload its certificates");
        };
        return {
            inject: () => {
                const certs = readdirSync(dir).filter((f) => /^server-\d+\.crt$/.test(f)).map((f) => path.join(dir, f));
                saved = certs.flatMap((c) => [c, c.replace(/\.crt$/, ".key")]).map((file) => ({ file, bytes: readFileSync(file) }));
                for (const cert of certs) {
                    const san = run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", cert]).stdout;
                    const short = ca.issue([...san.matchAll(/DNS:([^,\s]+)/g)].map((m) => m[1]), 3);
                    copyFileSync(short.certFile, cert);
                    copyFileSync(short.keyFile, cert.replace(/\.crt$/, ".key"));
                }
                reload();
            },
            restore: () => {
                for (const f of saved) writeFileSync(f.file, f.bytes);
                reload();
            },
        };
    }

    /** Mailu's IMAPS listener at home stops (Dovecot reloaded without it), and comes back. */
    function imapsListener(port: number): Pick<Fault, "inject" | "restore"> {
        const conf = () => readFileSync(mailuTls.dovecotConf, "utf8");
        const reload = (text: string, listening: boolean) => {
            writeFileSync(mailuTls.dovecotConf, text);
            ml.home.container.run(["doveadm", "-c", mailuTls.dovecotConf, "reload"]);
            waitFor(() => ml.home.container.listening(port) === listening, 10_000, `Dovecot did not ${listening ? "open" : "close"} tcp/${port}`);
        };
        let original = "";
        return {
            inject: () => {
                original = conf();
                const closed = original.replace(new RegExp(`(inet_listener imaps \\{\\n\\s+port = )${port}\\b`), (_m, pre: string) => `${pre}0`);
                expect(closed).not.toBe(original);
                reload(closed, false);
            },
            restore: () => reload(original, true),
        };
    }

    const faults: (() => Fault)[] = [
        () => ({
            name: "certificate expiring in 3 days",
            check: `tls.expiry:${tlsHosts()[0]}`,
            alsoFail: tlsHosts().slice(1).map((h) => `tls.expiry:${h}`),
            fix: /docker compose -f \/opt\/homemail\/gateway\/compose\.yaml logs traefik/,
            skipped: [],
            ...shortCertificates(),
        }),
        () => ({
            name: "DS at the parent wrong",
            check: `dnssec.ds:${zone()}`,
            fix: new RegExp(`at the registrar of ${zone().replace(/\./g, "\\.")}, replace the DS with \`${zone().replace(/\./g, "\\.")}\\. IN DS \\d+ 13 2 [0-9A-F]{64}\``),
            skipped: [`dnssec.validates:${zone()}`],
            inject: () => publish("com", tree.comZone(tree.childDs().map((ds) => ds.replace(/([0-9A-F])$/i, (c) => (c.toUpperCase() === "0" ? "1" : "0"))), childNs())),
            restore: () => publish("com", tree.comZone(tree.childDs(), childNs())),
        }),
        () => ({
            name: "the VPS IP on the blocklist",
            check: "blocklist.ip",
            fix: new RegExp(`look up ${ml.model.addresses.vpsPublicIp.replace(/\./g, "\\.")} at https://check\\.spamhaus\\.org/`),
            skipped: [],
            ...zoneFault(DNSBL_ZONE, (t) => `${t}${ml.model.addresses.vpsPublicIp.split(".").reverse().join(".")}.zen.${DNSBL_ZONE}. IN A 127.0.0.2\n`),
        }),
        () => ({
            name: "wrong PTR",
            check: "identity.ptr",
            fix: new RegExp(`set the reverse DNS \\(PTR\\) of ${ml.model.addresses.vpsPublicIp.replace(/\./g, "\\.")} to ${ml.model.mailHost.replace(/\./g, "\\.")}`),
            skipped: [],
            ...zoneFault(reverseZone(), (t) => t.replace(/IN PTR \S+/, "IN PTR vps-1234.hoster.example.")),
        }),
        () => ({
            name: "a second SPF record",
            check: `dns.spf:${domain()}`,
            fix: /delete the TXT "v=spf1 a -all" at .* keep "v=spf1 ip4:/,
            skipped: [`dns.spf-eval:${domain()}`],
            ...zoneFault(zone(), (t) => `${t}${domain()}. 300 IN TXT "v=spf1 a -all"\n`),
        }),
        () => ({
            name: "DKIM TXT changed",
            check: `dns.dkim:${domain()}`,
            fix: /pulumi up.*pulumi stack output dkim/,
            skipped: [],
            ...zoneFault(zone(), (t) => t.replace(/(_domainkey\.\S+ \d+ IN TXT "v=DKIM1; k=rsa; p=.{40})(.{8})/, "$1AAAAAAAA")),
        }),
        () => ({
            name: "MTA-STS id stale",
            check: `dns.mta-sts-id:${domain()}`,
            fix: new RegExp(`sets TXT _mta-sts\\.${domain().replace(/\./g, "\\.")} to "v=STSv1; id=[0-9a-f]{20}"`),
            skipped: [],
            ...zoneFault(zone(), (t) => t.replace(/(_mta-sts\.\S+ \d+ IN TXT "v=STSv1; id=)[0-9a-f]+/, "$100000000000000000000")),
        }),
        () => ({
            name: "WKD key file removed",
            check: `web.wkd:${ml.model.wkd.publications[0].address}`,
            fix: /pulumi up.*\/hu\//,
            skipped: [],
            inject: () => ml.vps.host.run(["rm", wkdKeyFile().path]),
            restore: () => ml.vps.host.install(wkdKeyFile().path, ml.rendered.file("vps", wkdKeyFile().path), wkdKeyFile().mode),
        }),
        () => ({
            name: "tunnel down",
            check: "inside.wg:home",
            fix: /systemctl start wg-quick@wg0/,
            // Every port reaching Mailu goes through the tunnel.
            skipped: ["inside.egress:home", "inside.fail-closed:home", "identity.smtp-banner", "inside.mailu-proxy-required:home", "inside.egress-path:home", ...baseline.map((r) => r.id).filter((id) => /^tls\.port(-expiry)?:/.test(id))],
            inject: () => ml.wireguard.down(ml.home.host),
            restore: () => {
                ml.wireguard.up(ml.home.host); // its PostUp re-applies the egress policy
                tunnelConfirmed();
            },
        }),
        () => ({
            name: "egress disabled at home",
            check: "inside.egress:home",
            fix: new RegExp(`${EGRESS_SCRIPT} reapply`),
            skipped: ["inside.fail-closed:home", "inside.egress-path:home"],
            inject: () => ml.home.host.run([EGRESS_SCRIPT, "disable"], { timeoutMs: 60_000 }),
            restore: () => ml.home.host.run([EGRESS_SCRIPT, "enable"], { timeoutMs: 60_000 }),
        }),
        () => ({
            name: "VPS firewall disabled",
            check: "inside.firewall:vps",
            fix: new RegExp(`${FIREWALL_SCRIPT} enable`),
            skipped: ["exposure.ipv6:vps"],
            inject: () => ml.vps.host.run([FIREWALL_SCRIPT, "disable"], { timeoutMs: 60_000 }),
            restore: () => ml.vps.host.run([FIREWALL_SCRIPT, "enable"], { timeoutMs: 60_000 }),
        }),
        () => {
            // What a Docker restart does: its raw guard for the container goes back to the top.
            const drop = dockerRawDrop(ml);
            return {
                name: "Docker's raw rule moved before homemail's",
                check: "inside.docker-raw:home",
                fix: new RegExp(`${EGRESS_SCRIPT} reapply`),
                skipped: ["inside.egress:home", "inside.fail-closed:home", "inside.egress-path:home"],
                inject: () => {
                    ml.home.host.run(["iptables", "-w", "-t", "raw", "-D", ...drop]);
                    ml.home.host.run(["iptables", "-w", "-t", "raw", "-I", drop[0], "1", ...drop.slice(1)]);
                },
                restore: () => ml.home.host.run([EGRESS_SCRIPT, "reapply"], { timeoutMs: 60_000 }),
            };
        },
        () => {
            const env = "/opt/homemail/mailu/mailu.env";
            let original = "";
            return {
                name: "PROXY_PROTOCOL drift in the deployed mailu.env",
                check: "inside.mailu-env:home",
                fix: /PROXY_PROTOCOL=25,/,
                skipped: [],
                inject: () => {
                    original = ml.home.host.run(["cat", env]).stdout;
                    const edited = original.replace(/^PROXY_PROTOCOL=25,/m, "PROXY_PROTOCOL=");
                    expect(edited).not.toBe(original);
                    ml.home.host.install(env, edited);
                },
                restore: () => ml.home.host.install(env, original),
            };
        },
        () => {
            const imaps = ml.model.ports.find((r) => r.name === "imaps")!;
            return {
                name: `port ${imaps.publicPort} closed`,
                check: `tls.port:${imaps.publicPort}`,
                fix: new RegExp(`at home: \`docker compose -f /opt/homemail/mailu/compose\\.yaml ps front\` \\(Mailu's front must listen on ${ml.model.addresses.wgSpoke.replace(/\./g, "\\.")}:${imaps.homePort}`),
                skipped: [`tls.port-expiry:${imaps.publicPort}`],
                ...imapsListener(imaps.homePort),
            };
        },
        () => {
            const traefikPorts = ml.model.ports.filter((p) => p.process === "traefik").map((p) => String(p.publicPort));
            return {
                name: "Traefik stopped on the VPS",
                check: "inside.gateway:traefik",
                fix: /on the VPS: `docker compose -f \/opt\/homemail\/gateway\/compose\.yaml up -d`/,
                // Every TLS name and port Traefik serves, the web checks behind them and the MTA-STS id
                // (compared with the policy served through it) depend on it.
                skipped: baseline.map((r) => r.id).filter((id) => /^(tls\.(chain|expiry):|web\.|dns\.mta-sts-id:)/.test(id) || traefikPorts.includes(/^tls\.port(?:-expiry)?:(\d+)/.exec(id)?.[1] ?? "")),
                inject: () => traefik.stop(),
                restore: () => traefik.start(),
            };
        },
        () => ({
            // Mailu's smtp container stopped: the stand-in's Postfix, whose master is the health the docker stand-in reports.
            name: "Mailu not running at home",
            check: "inside.mailu-containers:home",
            fix: /homemail-mailu|docker compose -f \/opt\/homemail\/mailu\/compose\.yaml/,
            // Everything that reaches Mailu says it depends on that, instead of failing a second time.
            skipped: ["identity.smtp-banner", "inside.mailu-proxy-required:home", ...baseline.map((r) => r.id).filter((id) => /^(tls\.port(-expiry)?:|inside\.(mailu-ports|mailu-queue|egress-path):)/.test(id))],
            inject: () => ml.home.standIn.stop(),
            restore: () => ml.home.standIn.start(),
        }),
        () => ({
            name: "IPv6: a service on [::]:443 and another tool's ACCEPT above the firewall's chain",
            check: "exposure.ipv6:vps",
            fix: /ip6tables -D INPUT -p tcp -m tcp --dport 443 -j ACCEPT/,
            skipped: [],
            ...ipv6Exposed(ml.model.ports.find((p) => p.name === "https")!.publicPort),
        }),
    ];

    /** What a user's own Traefik (`:443`, dual stack) and a `ufw allow`-style rule do together. */
    function ipv6Exposed(port: number): Pick<Fault, "inject" | "restore"> {
        let listener: Background | undefined;
        const rule = ["INPUT", "-p", "tcp", "-m", "tcp", "--dport", String(port), "-j", "ACCEPT"];
        return {
            inject: () => {
                listener = ml.vps.host.spawn(["socat", `TCP6-LISTEN:${port},ipv6only=1,reuseaddr,fork`, "SYSTEM:true"]);
                waitFor(() => ml.vps.host.run(["ss", "-Hltn6", `sport = :${port}`]).stdout.trim() !== "", 10_000, `socat did not listen on [::]:${port}`);
                ml.vps.host.run(["ip6tables", "-w", "-I", ...rule.slice(0, 1), "1", ...rule.slice(1)]);
            },
            restore: () => {
                ml.vps.host.run(["ip6tables", "-w", "-D", ...rule]);
                if (listener) ml.lab.stop(listener.pid);
            },
        };
    }

    for (const [i, make] of faults.entries()) {
        it(`fault ${i + 1}: its own check fails with the fix, dependents skip, nothing else changes`, () => {
            expect(baseline).toBeDefined();
            const fault = make();
            fault.inject();
            let after: Row[];
            try {
                after = rows();
            } finally {
                fault.restore();
            }
            const own = after.find((r) => r.id === fault.check);
            reported.push(`| ${fault.name} | \`${own?.status.toUpperCase()} ${own?.id}: ${own?.detail}\` fix: ${own?.fix} |`);
            expect({ fault: fault.name, own }).toMatchObject({ own: { status: "fail", fix: expect.stringMatching(fault.fix) } });
            const changed = after
                .filter((r) => r.id !== fault.check && !fault.skipped.includes(r.id) && !(fault.alsoFail ?? []).includes(r.id))
                .filter((r) => r.status !== baseline.find((b) => b.id === r.id)?.status)
                .map((r) => `${r.id}: ${r.status} ${r.detail}`);
            expect({ fault: fault.name, changed }).toEqual({ fault: fault.name, changed: [] });
            for (const id of fault.alsoFail ?? []) expect({ id, row: after.find((r) => r.id === id) }).toMatchObject({ row: { status: "fail", fix: expect.stringMatching(fault.fix) } });
            const chain = new Set([fault.check, ...fault.skipped]);
            for (const id of fault.skipped) {
                expect({ id, row: after.find((r) => r.id === id) }).toMatchObject({ row: { status: "skipped", dependsOn: expect.any(String) } });
                expect(chain.has(after.find((r) => r.id === id)!.dependsOn!)).toBe(true);
            }
        }, 120_000);
    }

    it("after every fault was restored, every check passes again", () => {
        expect(rows().filter((r) => r.status !== "ok" && r.id !== "drift.refresh")).toEqual([]);
    }, 120_000);
});
