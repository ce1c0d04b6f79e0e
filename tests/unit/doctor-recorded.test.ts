/**
 * The doctor's checks that no lab can serve for real (Spamhaus ZEN/DBL and its refusal of public
 * resolvers, a registrar's DS at a real parent, a VPS provider's PTR, the host states behind the
 * "inside" checks, the certificates a real CA issues) judged on answers recorded from the e2e lab
 * by tests/recordings/record-doctor-answers.ts (tests/fixtures/doctor-recorded/): raw DNS messages
 * replayed by a loopback server into the doctor's own resolvers, host commands replayed into its
 * SSH runner, served certificates into its expiry judge. Each replay must find what the checks
 * found live, ask nothing the recording lacks, and say what a user needs to read.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { checkServerIdentity, PeerCertificate } from "node:tls";
import { X509Certificate } from "node:crypto";
import { transferFinding } from "../../scripts/lib/doctor/checks/inside";
import { expiryFinding, vpsTlsHosts } from "../../scripts/lib/doctor/checks/tls";
import type { SshRunner } from "../../scripts/lib/doctor/ssh";
import { devModel, REPO_ROOT } from "../helpers/stack";
import { COMMAND_SCENARIOS, insideResults } from "../recordings/commandScenarios";
import type { RecordedDnsScenario } from "../recordings/capture-dns";
import type { RecordedCommandScenario, RecordedTls } from "../recordings/doctorAnswers";
import { replayServer } from "../recordings/dnsTape";
import { DNS_SCENARIOS, runScenario } from "../recordings/scenarios";

const DIR = process.env.HOMEMAIL_DOCTOR_RECORDINGS ?? path.join(REPO_ROOT, "tests", "fixtures", "doctor-recorded");
const load = <T>(file: string): T => JSON.parse(readFileSync(path.join(DIR, file), "utf8")) as T;
const model = devModel();

describe("doctor checks on recorded DNS answers", () => {
    const recorded = load<{ registrarDs: unknown[]; scenarios: RecordedDnsScenario[] }>("dns.json");

    it("the recording holds every scenario, each with answers", () => {
        expect(recorded.scenarios.map((s) => s.name).sort()).toEqual(DNS_SCENARIOS.map((s) => s.name).sort());
        expect(recorded.scenarios.filter((s) => s.exchanges.length === 0).map((s) => s.name)).toEqual([]);
    });

    for (const scenario of DNS_SCENARIOS) {
        it(`${scenario.name}: the replay finds what the lab run found, and what the user must read`, async () => {
            const tape = recorded.scenarios.find((s) => s.name === scenario.name)!;
            const misses: string[] = [];
            const server = await replayServer(tape.exchanges, misses);
            let found;
            try {
                found = await runScenario(scenario, model, server.address, { registrarDs: recorded.registrarDs });
            } finally {
                await server.close();
            }
            expect({ misses }).toEqual({ misses: [] });
            expect(found).toEqual(tape.live);
            for (const [id, want] of Object.entries(scenario.expect(model))) {
                const got = found[id];
                expect({ id, status: got?.status }).toEqual({ id, status: want.status });
                if (want.text) expect(`${got.detail}\n${got.fix ?? ""}`).toMatch(want.text);
                if (got.status === "fail") expect(got.fix).toBeTruthy();
            }
        });
    }
});

describe("doctor's inside checks on recorded host commands", () => {
    const recorded = load<RecordedCommandScenario[]>("commands.json");

    /** Answers each command with its recorded output, in order; a command the recording lacks is a miss. */
    function replay(commands: RecordedCommandScenario["commands"], misses: string[]): SshRunner {
        const queue = [...commands];
        return async (host, argv) => {
            const i = queue.findIndex((c) => c.host === host && JSON.stringify(c.argv) === JSON.stringify(argv));
            if (i < 0) {
                misses.push(`${host}: ${argv.join(" ")}`);
                return { status: 255, stdout: "", stderr: "not in the recording" };
            }
            const [c] = queue.splice(i, 1);
            return { status: c.status, stdout: c.stdout, stderr: c.stderr };
        };
    }

    it("the recording holds every host state", () => {
        expect(recorded.map((s) => s.name).sort()).toEqual(COMMAND_SCENARIOS.map((s) => s.name).sort());
    });

    for (const scenario of COMMAND_SCENARIOS) {
        it(`${scenario.name}: the replay finds what the lab run found, and only the state's own check fails`, async () => {
            const tape = recorded.find((s) => s.name === scenario.name)!;
            const misses: string[] = [];
            const results = await insideResults(model, replay(tape.commands, misses));
            expect({ misses }).toEqual({ misses: [] });
            expect(results).toEqual(tape.live);
            for (const r of results) {
                const want = scenario.expect[r.id] ?? { status: "ok" };
                expect({ id: r.id, status: r.status }).toEqual({ id: r.id, status: want.status });
                if (want.fix) expect(r.fix).toMatch(want.fix);
            }
        });
    }
});

describe("WireGuard counters on recorded `wg show wg0 transfer` output", () => {
    const healthy = load<RecordedCommandScenario[]>("commands.json").find((s) => s.name === "healthy")!;
    const transfer = healthy.commands.find((c) => c.host === "home" && c.argv.join(" ") === "wg show wg0 transfer")!.stdout;

    it("a fresh handshake with bytes both ways is ok and says how much", () => {
        expect(transferFinding("home", "last handshake 3 s ago", transfer)).toMatchObject({ status: "ok", detail: expect.stringMatching(/^last handshake 3 s ago; received \d/) });
    });

    it("a handshake with nothing received since is a warn (the recorded line, received bytes set to 0)", () => {
        const nothingReceived = transfer.replace(/^(\S+\s+)\d+/m, "$10");
        expect(nothingReceived).not.toBe(transfer);
        expect(transferFinding("home", "last handshake 3 s ago", nothingReceived)).toMatchObject({ status: "warn", detail: expect.stringMatching(/nothing arrived from the peer/) });
    });
});

describe("doctor's certificate judgement on recorded served chains", () => {
    const recorded = load<RecordedTls>("tls.json");
    const recordedAt = new Date(recorded.recordedAt);
    const ca = new X509Certificate(recorded.ca);
    const DAY = 86_400_000;

    it("a chain was recorded for every TLS host the VPS serves", () => {
        expect(recorded.hosts.map((h) => h.host).sort()).toEqual(vpsTlsHosts(model));
    });

    for (const { host, chain } of load<RecordedTls>("tls.json").hosts) {
        it(`${host}: the served leaf is the CA's, valid for the name only, and its days left are judged`, () => {
            const leaf = new X509Certificate(chain[0]);
            expect(leaf.checkIssued(ca) && leaf.verify(ca.publicKey)).toBe(true);
            const peer = { subject: { CN: host }, subjectaltname: leaf.subjectAltName } as unknown as PeerCertificate;
            expect(checkServerIdentity(host, peer)).toBeUndefined();
            expect(checkServerIdentity("other.example.net", peer)?.message).toMatch(/does not match|not in the cert's altnames/);
            const validTo = new Date(leaf.validTo);
            const fix = "renew";
            expect(expiryFinding(host, validTo, recordedAt, fix).status).toBe("ok");
            expect(expiryFinding(host, validTo, new Date(validTo.getTime() - 10 * DAY), fix)).toMatchObject({ status: "warn", fix });
            expect(expiryFinding(host, validTo, new Date(validTo.getTime() - 3 * DAY), fix)).toMatchObject({ status: "fail", detail: expect.stringMatching(/renewal is failing/), fix });
        });
    }
});
