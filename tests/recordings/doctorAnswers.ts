/**
 * Records, on a running e2e lab, the answers behind the doctor's checks that no lab can serve for
 * real (tests/recordings/README.md): raw DNS messages from lab servers playing a blocklist operator,
 * a VPS provider's reverse zone and a parent zone with a registrar's DS; the commands the "inside"
 * checks run on both hosts and their outputs, in several host states; the TLS chains the VPS
 * serves. Each kept with what the checks found live, so a replay can be compared with it.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { Model } from "../../components/config";
import { vpsTlsHosts } from "../../scripts/lib/doctor/checks/tls";
import type { HostRole, SshRunner } from "../../scripts/lib/doctor/ssh";
import { REPO_ROOT } from "../helpers/stack";
import { SignedTree } from "../e2e/lab/dnssec";
import type { LabCa } from "../e2e/lab/labCa";
import { startNamed, ZoneText } from "../e2e/lab/named";
import { buildMailLab, cleanupLab, MailLab } from "../e2e/lab/topology";
import { startHttpsFront } from "../e2e/lab/vps";
import { COMMAND_SCENARIOS, InsideResult, insideResults, RecordedCommand } from "./commandScenarios";
import { BLOCKLIST_ZONES, PlayedServer, PROVIDER_DEFAULT_PTR } from "./scenarios";

const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
const CAPTURE_DNS = path.join(REPO_ROOT, "tests", "recordings", "capture-dns.ts");

export interface RecordedCommandScenario {
    readonly name: string;
    readonly commands: readonly RecordedCommand[];
    readonly live: readonly InsideResult[];
}

export interface RecordedTls {
    readonly recordedAt: string;
    readonly ca: string;
    readonly hosts: readonly { host: string; port: number; chain: readonly string[] }[];
}

const zoneText = (name: string, ns: string, lines: readonly string[]): ZoneText => ({
    name,
    text: [`$ORIGIN ${name}.`, "$TTL 300", `@ IN SOA ${ns}. hostmaster.invalid. 1 7200 3600 1209600 300`, `@ IN NS ${ns}.`, ...lines, ""].join("\n"),
});

/** The zones of the blocklist operator and of the VPS provider's reverse DNS. */
function operatorZones(model: Model): ZoneText[] {
    const ns = "ns.operator.invalid";
    const reversedIp = model.addresses.vpsPublicIp.split(".").reverse().join(".");
    const [a, b, c, d] = model.addresses.vpsPublicIp.split(".");
    return [
        zoneText(`zen.${BLOCKLIST_ZONES.listed}`, ns, [`${reversedIp} IN A 127.0.0.2`]),
        zoneText(`dbl.${BLOCKLIST_ZONES.listed}`, ns, model.domains.map((dom) => `${dom.name}.dbl.${BLOCKLIST_ZONES.listed}. IN A 127.0.1.2`)),
        // Spamhaus answers every query that came through a public resolver with 127.255.255.254.
        zoneText(`zen.${BLOCKLIST_ZONES.refusing}`, ns, ["* IN A 127.255.255.254"]),
        zoneText(`dbl.${BLOCKLIST_ZONES.refusing}`, ns, ["* IN A 127.255.255.254"]),
        zoneText(`zen.${BLOCKLIST_ZONES.clean}`, ns, []),
        zoneText(`dbl.${BLOCKLIST_ZONES.clean}`, ns, []),
        zoneText(`${c}.${b}.${a}.in-addr.arpa`, ns, [`${d} IN PTR ${PROVIDER_DEFAULT_PTR}.`]),
    ];
}

/** Starts the played name servers next to the lab's own, each on its own address; returns the addresses and a stop. */
function playedServers(ml: MailLab, dir: string): { servers: Record<PlayedServer, string>; registrarDs: unknown[]; stop: () => void } {
    const zone = ml.model.cloudflare.zones[0].name;
    const dns = ml.internet.dns;
    const base = ml.internet.dnsAddress.replace(/\.\d+$/, "");
    const tree = SignedTree.create(path.join(dir, "dnssec"), zone, `${base}.55`);
    tree.sign(zone, ml.rendered.zoneFile(zone));
    const childNs = /\sIN\s+NS\s+(\S+)/.exec(ml.rendered.zoneFile(zone))![1];
    const flipped = tree.childDs().map((ds) => ds.replace(/([0-9A-F])$/i, (ch) => (ch.toUpperCase() === "0" ? "1" : "0")));
    const plays: [PlayedServer, number, ZoneText[]][] = [
        ["blocklist-operator", 54, operatorZones(ml.model)],
        ["parent-ds-match", 55, [{ name: "com", text: tree.comZone(tree.childDs(), childNs) }]],
        ["parent-ds-wrong", 56, [{ name: "com", text: tree.comZone(flipped, childNs) }]],
        ["parent-ds-missing", 57, [{ name: "com", text: tree.comZone([], childNs) }]],
    ];
    const pidFiles: string[] = [];
    const servers = { "rendered-zones": `${ml.internet.dnsAddress}:53` } as Record<PlayedServer, string>;
    for (const [role, octet, zones] of plays) {
        const address = `${base}.${octet}`;
        dns.run(["ip", "address", "add", `${address}/24`, "dev", "eth0"]);
        const namedDir = path.join(dir, `named-${role}`);
        startNamed(dns, namedDir, address, zones);
        pidFiles.push(path.join(namedDir, "named.pid"));
        servers[role] = `${address}:53`;
    }
    const stop = () => {
        for (const f of pidFiles) process.kill(Number(readFileSync(f, "utf8")), "SIGTERM");
        for (const [, octet] of plays) dns.run(["ip", "address", "del", `${base}.${octet}/24`, "dev", "eth0"], { allowFailure: true });
    };
    return { servers, registrarDs: tree.registrarDs(), stop };
}

function recordDns(ml: MailLab, dir: string): unknown {
    const played = playedServers(ml, dir);
    try {
        const plan = path.join(dir, "dns-plan.json");
        const out = path.join(dir, "dns-recorded.json");
        writeFileSync(plan, JSON.stringify({ servers: played.servers, outputs: { registrarDs: played.registrarDs } }));
        ml.internet.remote.run([TSX, CAPTURE_DNS, plan, out], { cwd: REPO_ROOT, timeoutMs: 180_000 });
        return { registrarDs: played.registrarDs, scenarios: JSON.parse(readFileSync(out, "utf8")) };
    } finally {
        played.stop();
    }
}

/** Runs every "inside" check of the doctor on the lab's hosts directly (root), keeping each command and its output. */
async function recordCommandScenario(ml: MailLab, name: string): Promise<RecordedCommandScenario> {
    const commands: RecordedCommand[] = [];
    const hosts = { vps: ml.vps.host, home: ml.home.host };
    const ssh: SshRunner = async (host: HostRole, argv) => {
        const r = hosts[host].run(argv, { allowFailure: true, timeoutMs: 60_000 });
        commands.push({ host, argv: [...argv], status: r.status, stdout: r.stdout, stderr: r.stderr });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    return { name, commands, live: await insideResults(ml.model, ssh) };
}

async function recordCommands(ml: MailLab): Promise<RecordedCommandScenario[]> {
    const out: RecordedCommandScenario[] = [];
    for (const s of COMMAND_SCENARIOS) {
        s.inject(ml);
        try {
            out.push(await recordCommandScenario(ml, s.name));
        } finally {
            s.restore(ml);
        }
    }
    return out;
}

/** The chain the VPS serves for each of its TLS hosts, as a client on the Internet receives it. */
function recordTls(ml: MailLab, ca: LabCa): RecordedTls {
    const hosts = vpsTlsHosts(ml.model);
    return {
        recordedAt: new Date().toISOString(),
        ca: ca.certificate(),
        hosts: hosts.map((host) => {
            const shown = ml.internet.remote.sh(`openssl s_client -connect ${ml.model.addresses.vpsPublicIp}:443 -servername ${host} -showcerts </dev/null 2>/dev/null`, { allowFailure: true }).stdout;
            const chain = [...shown.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => `${m[0]}\n`);
            if (chain.length === 0) throw new Error(`no certificate from ${ml.model.addresses.vpsPublicIp}:443 for ${host}`);
            return { host, port: 443, chain };
        }),
    };
}

/** Records everything into `outDir` (dns.json, commands.json, tls.json); `workDir` holds the played servers' files. */
export async function recordDoctorAnswers(ml: MailLab, ca: LabCa, outDir: string, workDir: string): Promise<void> {
    mkdirSync(outDir, { recursive: true });
    mkdirSync(workDir, { recursive: true });
    const write = (file: string, value: unknown) => writeFileSync(path.join(outDir, file), `${JSON.stringify(value, null, 1)}\n`);
    write("dns.json", recordDns(ml, workDir));
    write("commands.json", await recordCommands(ml));
    write("tls.json", recordTls(ml, ca));
}

/** Builds a fresh e2e lab (with its HTTPS front), records into `outDir`, removes the lab; returns what it left behind. */
export async function recordOnFreshLab(outDir: string): Promise<string[]> {
    const started = Date.now();
    const ml = buildMailLab("rec");
    try {
        const { ca } = startHttpsFront(ml.lab, ml.vps, ml.rendered, ml.model);
        ml.wireguard.confirmHandshake(ml.home.host, ml.vps.host, ml.model.addresses.wgHub);
        await recordDoctorAnswers(ml, ca, outDir, path.join(ml.lab.dir, "recordings"));
    } catch (err) {
        cleanupLab(ml.lab, "record-doctor-answers", started);
        throw err;
    }
    return cleanupLab(ml.lab, "record-doctor-answers", started);
}
