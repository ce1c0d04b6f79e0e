/**
 * Runs inside a lab namespace (tests/recordings/doctorAnswers.ts starts it there): each DNS
 * scenario's checks, the doctor's own code, against a recording proxy in front of the lab server
 * that plays the part. Writes what they asked, what came back (raw messages) and what they found.
 *
 *   tsx tests/recordings/capture-dns.ts PLAN.json OUT.json
 *   PLAN: { "servers": { "<PlayedServer>": "ADDR:PORT", ... }, "outputs": { "registrarDs": [...] } }
 */
import { readFileSync, writeFileSync } from "node:fs";
import { devModel } from "../helpers/stack";
import { Exchange, recordingProxy } from "./dnsTape";
import { DNS_SCENARIOS, PlayedServer, runScenario } from "./scenarios";

export interface RecordedDnsScenario {
    readonly name: string;
    readonly server: PlayedServer;
    readonly exchanges: readonly Exchange[];
    /** What the checks found on the lab, live. */
    readonly live: Record<string, { status: string; detail: string; fix?: string }>;
}

async function main(planFile: string, outFile: string): Promise<void> {
    const plan = JSON.parse(readFileSync(planFile, "utf8")) as { servers: Record<PlayedServer, string>; outputs: Record<string, unknown> };
    const model = devModel();
    const recorded: RecordedDnsScenario[] = [];
    for (const s of DNS_SCENARIOS) {
        const tape: Exchange[] = [];
        const proxy = await recordingProxy(plan.servers[s.server], tape);
        try {
            recorded.push({ name: s.name, server: s.server, live: await runScenario(s, model, proxy.address, plan.outputs), exchanges: tape });
        } finally {
            await proxy.close();
        }
    }
    writeFileSync(outFile, `${JSON.stringify(recorded, null, 1)}\n`);
}

const [plan, out] = process.argv.slice(2);
main(plan, out).catch((err: unknown) => {
    process.stderr.write(`capture-dns: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
});
