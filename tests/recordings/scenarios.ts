/**
 * What the recordings hold, as scenarios of checks no lab can serve for real (Spamhaus and its
 * refusal of public resolvers, a registrar's DS at a real parent, a VPS provider's PTR): each names
 * the lab server that plays the part, builds the doctor's own checks against an address (the
 * recording proxy on the lab, the replay server in unit tests) and says what a user must see.
 */
import type { Model } from "../../components/config";
import type { Check, Status } from "../../scripts/lib/doctor/check";
import { blocklistChecks } from "../../scripts/lib/doctor/checks/blocklists";
import { dnssecChecks } from "../../scripts/lib/doctor/checks/dnssec";
import { identityChecks } from "../../scripts/lib/doctor/checks/identity";
import type { DoctorContext } from "../../scripts/lib/doctor/context";
import { AuthoritativeDns } from "../../scripts/lib/doctor/dns";
import { offlineContext } from "./offlineContext";

/** Lab name servers that play a part (besides the lab's own, which serves the rendered zones). */
export type PlayedServer = "rendered-zones" | "blocklist-operator" | "parent-ds-match" | "parent-ds-wrong" | "parent-ds-missing";

export interface DnsScenario {
    readonly name: string;
    readonly server: PlayedServer;
    /** What the user must see, by check id: the status and a pattern of the detail or fix. */
    readonly expect: (model: Model) => Record<string, { status: Status; text?: RegExp }>;
    readonly checks: (model: Model, address: string, outputs: Record<string, unknown>) => { checks: Check<DoctorContext>[]; ctx: DoctorContext };
}

/** The blocklist operator's zones: one lists, one refuses (as Spamhaus does for public resolvers), one is clean. */
export const BLOCKLIST_ZONES = { listed: "listed.test", refusing: "refusing.test", clean: "clean.test" } as const;
/** The PTR a VPS provider sets before the operator changes it. */
export const PROVIDER_DEFAULT_PTR = "vps-1234.hoster.example";

const zones = (m: Model) => m.cloudflare.zones.map((z) => z.name);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function context(model: Model, address: string, outputs: Record<string, unknown>): DoctorContext {
    return offlineContext(model, { outputs, dns: new AuthoritativeDns({ servers: [address], zones: zones(model), timeoutMs: 3000 }), timeoutMs: 3000 });
}

function blocklist(name: string, operator: keyof typeof BLOCKLIST_ZONES, status: Status, text: (m: Model) => RegExp): DnsScenario {
    const op = BLOCKLIST_ZONES[operator];
    return {
        name,
        server: "blocklist-operator",
        expect: (m) => Object.fromEntries([["blocklist.ip", { status, text: text(m) }], ...m.domains.map((d) => [`blocklist.domain:${d.name}`, { status }])]),
        checks: (model, address, outputs) => ({ ctx: context(model, address, outputs), checks: blocklistChecks({ model }, { ipZone: `zen.${op}`, domainZone: `dbl.${op}`, resolver: address }) }),
    };
}

const only = (prefix: string) => (c: Check<DoctorContext>) => c.id === prefix || c.id.startsWith(`${prefix}:`);

function ptr(name: string, server: PlayedServer, status: Status, text: (m: Model) => RegExp): DnsScenario {
    return {
        name,
        server,
        expect: (m) => ({ "identity.ptr": { status, text: text(m) } }),
        checks: (model, address, outputs) => ({ ctx: context(model, address, outputs), checks: identityChecks({ model }).filter(only("identity.ptr")) }),
    };
}

function ds(name: string, server: PlayedServer, status: Status, text: RegExp): DnsScenario {
    return {
        name,
        server,
        expect: (m) => Object.fromEntries(zones(m).map((z) => [`dnssec.ds:${z}`, { status, text }])),
        checks: (model, address, outputs) => ({ ctx: context(model, address, outputs), checks: dnssecChecks({ model }, {}).filter(only("dnssec.ds")) }),
    };
}

export const DNS_SCENARIOS: readonly DnsScenario[] = [
    blocklist("the VPS IP and the domains listed", "listed", "fail", (m) => new RegExp(`${escape(m.addresses.vpsPublicIp)} is listed on zen\\.listed\\.test \\(127\\.0\\.0\\.2\\)`)),
    blocklist("asked through a public resolver: refused, not a verdict", "refusing", "warn", () => /127\.255\.255\.254: the query came through a public or open resolver/),
    blocklist("not listed", "clean", "ok", (m) => new RegExp(`${escape(m.addresses.vpsPublicIp)} is not listed`)),
    ptr("the VPS provider's default PTR", "blocklist-operator", "fail", (m) => new RegExp(`PTR of ${escape(m.addresses.vpsPublicIp)} is ${escape(PROVIDER_DEFAULT_PTR)}, not ${escape(m.mailHost)}`)),
    ptr("the PTR set to the mail host", "rendered-zones", "ok", (m) => new RegExp(`${escape(m.addresses.vpsPublicIp)} -> ${escape(m.mailHost)}\\b`)),
    ds("the registrar's DS matches the zone's key", "parent-ds-match", "ok", /^DS \d+ 13 2 at com/),
    ds("a stale DS at the registrar", "parent-ds-wrong", "fail", /does not match the zone's key/),
    ds("no DS at the registrar", "parent-ds-missing", "fail", /has no DS for .*resolvers treat the zone as unsigned/),
];

/** Runs a scenario's checks directly (their preconditions are not part of the recording). */
export async function runScenario(s: DnsScenario, model: Model, address: string, outputs: Record<string, unknown>): Promise<Record<string, { status: Status; detail: string; fix?: string }>> {
    const { checks, ctx } = s.checks(model, address, outputs);
    const out: Record<string, { status: Status; detail: string; fix?: string }> = {};
    for (const c of checks) {
        const f = await c.run(ctx);
        out[c.id] = { status: f.status, detail: f.detail, ...("fix" in f && f.fix ? { fix: f.fix } : {}) };
    }
    return out;
}
