/**
 * DNS checks, asked of each zone's authoritative servers: every record of the render's set served
 * as rendered (each by the one check that owns it, records.ts), exactly one SPF and one DMARC
 * record per name, SPF evaluated (mailauth) for the VPS IP and the home WAN IP, no name resolving
 * to the home WAN IP, the DKIM key equal to the stack's, the MTA-STS id equal to the served policy's.
 */
import { createHash } from "node:crypto";
import { spf } from "mailauth/lib/spf";
import { mtaStsPolicyId } from "../../../../components/render/mtaSts";
import type { DnsRecordOut } from "../../zoneFile";
import { Check, fail, Finding, ok, warn } from "../check";
import type { DoctorContext } from "../context";
import { ask, DnsAnswer } from "../dns";
import { ExpectedSet, expectedSets, needsServersOf, ownerOf, serversCheckId, txtPurpose } from "./records";

type C = Check<DoctorContext>;

const q = (s: string) => JSON.stringify(s);
const short = (s: string, n = 60) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

async function served(ctx: DoctorContext, name: string, type: ExpectedSet["type"]): Promise<DnsAnswer> {
    const a = await ctx.dns.query(name, type);
    if (a.rcode !== "NOERROR" && a.rcode !== "NXDOMAIN") throw new Error(`${type} ${name}: ${a.server} answered ${a.rcode}`);
    return a;
}

/** Compares RRsets with what the authoritative servers serve; the first difference is the finding. */
export async function compareSets(ctx: DoctorContext, sets: readonly ExpectedSet[]): Promise<Finding> {
    const problems: { detail: string; fix: string }[] = [];
    let count = 0;
    for (const s of sets) {
        const answer = await served(ctx, s.name, s.type);
        const purposes = new Set(s.texts.map(txtPurpose));
        const got = s.type === "TXT" ? answer.records.filter((t) => purposes.has(txtPurpose(t))) : [...answer.records];
        count += s.texts.length;
        if (s.proxied) {
            if (got.length === 0) problems.push({ detail: `${s.type} ${s.name} is not served (${answer.rcode})`, fix: `run \`pulumi up\`: it publishes ${s.type} ${s.name} (proxied)` });
            continue;
        }
        const missing = s.texts.filter((t) => !got.includes(t));
        const extra = got.filter((t) => !s.texts.includes(t));
        if (missing.length > 0 && extra.length > 0 && missing.length === 1 && extra.length === 1) {
            problems.push({ detail: `${s.type} ${s.name} is ${q(short(extra[0]))}, the stack publishes ${q(short(missing[0]))}`, fix: `run \`pulumi up\`: it sets ${s.type} ${s.name} to ${q(missing[0])}` });
        } else {
            for (const m of missing) problems.push({ detail: `${s.type} ${s.name} ${q(short(m))} is not served${got.length === 0 ? ` (${answer.rcode}, no ${s.type})` : ""}`, fix: `run \`pulumi up\`: it publishes ${s.type} ${s.name} ${q(m)}` });
            for (const x of extra) problems.push({ detail: `${s.type} ${s.name} also serves ${q(short(x))}, which the stack does not publish`, fix: `delete the ${s.type} record ${q(x)} at ${s.name} in Cloudflare` });
        }
    }
    if (problems.length === 0) {
        const one = sets.length === 1 && sets[0].texts.length === 1 ? `: ${sets[0].type} ${short(sets[0].texts[0])}` : "";
        return ok(`${count} record${count === 1 ? "" : "s"} served as rendered${one}`);
    }
    const more = problems.length > 1 ? ` (+${problems.length - 1} more: --json lists the check's detail)` : "";
    return fail(`${problems[0].detail}${more}`, problems[0].fix);
}

/** Exactly one record of a kind (`v=spf1`, `v=DMARC1`, `v=STSv1`) at a name, equal to the rendered one. */
async function exactlyOne(ctx: DoctorContext, name: string, tag: string, expected: string | undefined, why: string): Promise<{ finding?: Finding; value?: string }> {
    const answer = await served(ctx, name, "TXT");
    const found = answer.records.filter((t) => txtPurpose(t) === txtPurpose(tag));
    if (found.length === 0) {
        return { finding: fail(`no ${tag} record at ${name} (${answer.rcode})`, expected ? `run \`pulumi up\`: it publishes TXT ${name} ${q(expected)}` : `publish the ${tag} TXT record at ${name}`) };
    }
    if (found.length > 1) {
        const keep = expected && found.includes(expected) ? expected : undefined;
        const drop = found.filter((t) => t !== keep);
        return {
            finding: fail(
                `${found.length} ${tag} records at ${name} (${found.map((t) => q(short(t, 40))).join(", ")}): ${why}`,
                keep ? `delete the TXT ${drop.map(q).join(" and ")} at ${name} in Cloudflare; keep ${q(keep)}` : `delete all but one ${tag} TXT at ${name}, then run \`pulumi up\``,
            ),
        };
    }
    if (expected !== undefined && found[0] !== expected) {
        return { finding: fail(`TXT ${name} is ${q(short(found[0]))}, the stack publishes ${q(short(expected))}`, `run \`pulumi up\`: it sets TXT ${name} to ${q(expected)}`) };
    }
    return { value: found[0] };
}

interface DkimOutput {
    readonly domain: string;
    readonly name: string;
    readonly value: string;
    readonly keyOf?: string;
}

/** Short digest of a DKIM key's p= value, to tell two keys apart in one line. */
const keyDigest = (txt: string) => createHash("sha256").update(dkimKey(txt)).digest("hex").slice(0, 12);
const dkimKey = (txt: string) => /(?:^|;)\s*p=([^;]*)/.exec(txt)?.[1]?.replace(/\s+/g, "") ?? "";

export function dnsChecks(ctx: Pick<DoctorContext, "model" | "render">): C[] {
    const { model, render } = ctx;
    const checks: C[] = [];
    const byOwner = new Map<string, DnsRecordOut[]>();
    for (const r of render.records) {
        const id = ownerOf(r, model);
        byOwner.set(id, [...(byOwner.get(id) ?? []), r]);
    }
    const idsWith = (prefix: string) => [...byOwner.keys()].filter((id) => id.startsWith(`${prefix}:`)).sort();

    for (const zone of model.cloudflare.zones.map((z) => z.name)) {
        checks.push({
            id: serversCheckId(zone),
            area: "dns",
            title: `the authoritative servers of ${zone} answer`,
            run: async (c) => {
                let servers: string[];
                try {
                    servers = await c.dns.serversOf(zone);
                } catch (err) {
                    return fail(err instanceof Error ? err.message : String(err), `check the NS of ${zone} at the registrar (Cloudflare's two name servers), or give --dns-server ADDR`);
                }
                const bad: string[] = [];
                for (const s of servers) {
                    const a = await ask(s, zone, "SOA", c.timeoutMs).catch((err: Error) => err);
                    if (a instanceof Error) bad.push(a.message);
                    else if (a.rcode !== "NOERROR" || !a.authoritative || a.records.length === 0) bad.push(`${s} answered ${a.rcode}${a.authoritative ? "" : " without authority"} for the SOA of ${zone}`);
                }
                if (bad.length > 0) return fail(bad[0], `the zone ${zone} must be active on ${servers.join(", ")} (Cloudflare: zone status "active"); or give --dns-server ADDR`);
                return ok(`${servers.join(", ")} answer with authority`);
            },
        });
    }

    for (const id of idsWith("dns.mx")) {
        checks.push({ id, area: "dns", title: `MX of ${id.split(":")[1]}`, needs: needsServersOf(id.split(":")[1], model), run: (c) => compareSets(c, expectedSets(byOwner.get(id)!)) });
    }
    for (const id of idsWith("dns.spf")) {
        const name = id.split(":")[1];
        const expected = String(byOwner.get(id)![0].content);
        checks.push({
            id,
            area: "dns",
            title: `one SPF record at ${name}`,
            needs: needsServersOf(name, model),
            run: async (c) => (await exactlyOne(c, name, "v=spf1", expected, "receivers treat the SPF of the name as invalid (permerror)")).finding ?? ok(`TXT ${expected}`),
        });
        checks.push({
            id: `dns.spf-eval:${name}`,
            area: "dns",
            title: `SPF of ${name} passes the VPS and fails the home WAN IP`,
            needs: [id],
            run: async (c) => {
                const { vpsPublicIp, homeWanIp } = c.model.addresses;
                const evaluate = (ip: string) => spf({ sender: `postmaster@${name}`, ip, helo: c.model.mailHost, mta: "homemail-doctor", resolver: c.dns.resolver() as never, maxResolveCount: 10 });
                const vps = (await evaluate(vpsPublicIp)).status.result;
                if (vps !== "pass") return fail(`SPF of ${name} gives ${vps} for the VPS IP ${vpsPublicIp}: mail from the VPS fails SPF`, `run \`pulumi up\`: it sets TXT ${name} to ${q(expected)}`);
                const home = (await evaluate(homeWanIp)).status.result;
                if (home === "pass") return fail(`SPF of ${name} passes the home WAN IP ${homeWanIp}: mail leaking from home would be accepted`, `set TXT ${name} to ${q(expected)} (run \`pulumi up\`)`);
                if (home !== "fail") return warn(`SPF of ${name}: VPS pass, home WAN IP ${homeWanIp} ${home} (not a hard fail)`, `end the record with -all: ${q(expected)}`);
                return ok(`pass for ${vpsPublicIp}, fail for the home WAN IP ${homeWanIp} (mailauth, at most 10 lookups)`);
            },
        });
    }
    for (const id of idsWith("dns.dmarc")) {
        const name = `_dmarc.${id.split(":")[1]}`;
        const expected = String(byOwner.get(id)![0].content);
        checks.push({
            id,
            area: "dns",
            title: `one DMARC record at ${name}`,
            needs: needsServersOf(name, model),
            run: async (c) => (await exactlyOne(c, name, "v=DMARC1", expected, "receivers ignore DMARC for the domain (RFC 7489 6.6.3)")).finding ?? ok(`TXT ${short(expected)}`),
        });
    }
    for (const id of idsWith("dns.dkim")) {
        const domain = id.split(":")[1];
        const name = byOwner.get(id)![0].name;
        checks.push({
            id,
            area: "dns",
            title: `DKIM key at ${name} is the stack's`,
            needs: needsServersOf(name, model),
            needsOutputs: true,
            run: async (c) => {
                const published = ((c.outputs?.dkim ?? []) as DkimOutput[]).find((d) => d.name === name || d.domain === domain);
                if (!published) return fail(`the stack outputs have no \`dkim\` entry for ${domain}`, "run `pulumi up` (it exports the DKIM records), then re-run the doctor");
                const answer = await served(c, name, "TXT");
                const keys = answer.records.filter((t) => /(^|;)\s*p=/.test(t));
                if (keys.length === 0) return fail(`no DKIM key at ${name} (${answer.rcode})`, `run \`pulumi up\`: it publishes TXT ${name} from \`pulumi stack output dkim\``);
                if (keys.length > 1) return fail(`${keys.length} DKIM keys at ${name}: verifiers pick one at random`, `delete all but ${q(short(published.value))} at ${name} in Cloudflare`);
                if (dkimKey(keys[0]) !== dkimKey(published.value)) {
                    return fail(`the DKIM key served at ${name} (sha256 ${keyDigest(keys[0])}) is not the stack's (sha256 ${keyDigest(published.value)}): signed mail fails DKIM`, `run \`pulumi up\`: it sets TXT ${name} to the value of \`pulumi stack output dkim\``);
                }
                return ok(`served key = stack output dkim (${published.keyOf ?? domain}'s key)`);
            },
        });
    }
    for (const id of idsWith("dns.mta-sts-id")) {
        const domain = id.split(":")[1];
        const name = `_mta-sts.${domain}`;
        checks.push({
            id,
            area: "dns",
            title: `MTA-STS id at ${name} matches the served policy`,
            needs: [...needsServersOf(name, model), `web.mta-sts:${domain}`],
            run: async (c) => {
                const policy = c.facts.get(`mta-sts-policy:${domain}`);
                if (policy === undefined) throw new Error(`web.mta-sts:${domain} recorded no policy`);
                const want = `v=STSv1; id=${mtaStsPolicyId(policy)}`;
                const one = await exactlyOne(c, name, "v=STSv1", undefined, "senders ignore MTA-STS for the domain");
                if (one.finding) return one.finding;
                const id = /(?:^|;)\s*id=([A-Za-z0-9]+)/.exec(one.value!)?.[1];
                if (id !== mtaStsPolicyId(policy)) {
                    return fail(`TXT ${name} has id=${id ?? "(none)"}, the served policy's id is ${mtaStsPolicyId(policy)}: senders keep a cached older policy`, `run \`pulumi up\`: it sets TXT ${name} to ${q(want)}`);
                }
                return ok(`id=${id} = sha256 of the served policy`);
            },
        });
    }
    for (const prefix of ["dns.tls-rpt", "dns.caa", "dns.srv", "dns.records"]) {
        for (const id of idsWith(prefix)) {
            const what = { "dns.tls-rpt": "TLS-RPT record", "dns.caa": "CAA records", "dns.srv": "SRV records", "dns.records": "other records" }[prefix];
            checks.push({ id, area: "dns", title: `${what} of ${id.split(":")[1]}`, needs: needsServersOf(id.split(":")[1], model), run: (c) => compareSets(c, expectedSets(byOwner.get(id)!)) });
        }
    }
    for (const zone of model.cloudflare.zones.map((z) => z.name)) {
        checks.push({
            id: `dns.no-home-ip:${zone}`,
            area: "dns",
            title: `no name of ${zone} resolves to the home WAN IP`,
            needs: [serversCheckId(zone)],
            run: async (c) => {
                const names = new Set<string>();
                for (const r of render.records.filter((x) => x.zone === zone)) {
                    if (r.type === "A" || r.type === "AAAA") names.add(r.name.toLowerCase());
                    if (r.type === "MX") names.add(String(r.content).replace(/\.$/, "").toLowerCase());
                    const target = (r.data as { target?: string } | null)?.target;
                    if (r.type === "SRV" && target && target !== ".") names.add(target.replace(/\.$/, "").toLowerCase());
                }
                const home = c.model.addresses.homeWanIp;
                for (const n of [...names].sort()) {
                    if (!(n === zone || n.endsWith(`.${zone}`))) continue;
                    const a = await served(c, n, "A");
                    if (a.records.includes(home)) return fail(`A ${n} is the home WAN IP ${home}: the home line is exposed`, `delete the A record ${home} at ${n} in Cloudflare (run \`pulumi up\` for the stack's records)`);
                }
                return ok(`${names.size} names checked, none is ${home}`);
            },
        });
    }
    return checks;
}
