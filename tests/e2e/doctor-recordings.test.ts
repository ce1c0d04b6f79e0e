/**
 * The committed recording script still works, and the committed recordings
 * (tests/fixtures/doctor-recorded/, replayed by tests/unit/doctor-recorded.test.ts) still say what
 * the lab says: a fresh recording on a fresh lab holds the same scenarios, the same questions and
 * commands, and the checks found the same verdicts live. Values that differ on every run (DNSSEC
 * keys, handshake times, certificates) are not compared.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describeRoot } from "../helpers/root";
import { REPO_ROOT } from "../helpers/stack";
import type { RecordedDnsScenario } from "../recordings/capture-dns";
import { recordOnFreshLab, RecordedCommandScenario, RecordedTls } from "../recordings/doctorAnswers";

const COMMITTED = path.join(REPO_ROOT, "tests", "fixtures", "doctor-recorded");

describeRoot("e2e: the doctor's recordings can be made again, and match the committed ones", () => {
    let fresh: string;
    const read = <T>(dir: string, file: string): T => JSON.parse(readFileSync(path.join(dir, file), "utf8")) as T;

    beforeAll(async () => {
        fresh = mkdtempSync(path.join(tmpdir(), "homemail-recordings-"));
        expect(await recordOnFreshLab(fresh)).toEqual([]);
    }, 240_000);
    afterAll(() => fresh && rmSync(fresh, { recursive: true, force: true }));

    it("DNS: the same scenarios ask the same questions and find the same verdicts", () => {
        const shape = (dir: string) =>
            read<{ scenarios: RecordedDnsScenario[] }>(dir, "dns.json").scenarios.map((s) => ({
                name: s.name,
                questions: [...new Set(s.exchanges.map((e) => `${e.name} ${e.type}`))].sort(),
                verdicts: Object.fromEntries(Object.entries(s.live).map(([id, f]) => [id, f.status])),
            }));
        expect(shape(fresh)).toEqual(shape(COMMITTED));
    });

    it("host commands: the same host states run the same commands and find the same verdicts", () => {
        const shape = (dir: string) =>
            read<RecordedCommandScenario[]>(dir, "commands.json").map((s) => ({
                name: s.name,
                commands: s.commands.map((c) => `${c.host}: ${c.argv.join(" ")} -> ${c.status}`),
                verdicts: s.live.map((r) => `${r.id} ${r.status}${r.dependsOn ? ` (${r.dependsOn})` : ""}`),
            }));
        expect(shape(fresh)).toEqual(shape(COMMITTED));
    });

    it("TLS: the same hosts serve a chain of the same length", () => {
        const shape = (dir: string) => read<RecordedTls>(dir, "tls.json").hosts.map((h) => `${h.host}:${h.port} ${h.chain.length}`);
        expect(shape(fresh)).toEqual(shape(COMMITTED));
    });
});
