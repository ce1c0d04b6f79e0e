/**
 * The rendered zones, served by a real authoritative server (BIND `named`) in a network namespace of
 * this test, answer what the mail world asks, checked with real clients and verifiers:
 * - `dig` finds every record of records.json with the same content;
 * - a message signed with the (test-only) DKIM key verifies through DNS (python3-dkim), a tampered
 *   copy fails, for every mail domain (alternative domains with their parent's key);
 * - SPF (python3-spf) passes the VPS IP and fails the home WAN IP, for every domain and the HELO name;
 * - DMARC parses with libopendmarc (`opendmarc-check`) into the configured policy and alignment;
 * - SRV, MTA-STS (its id = the hash of the policy file the VPS serves), TLS-RPT and CAA answer what
 *   the port table and the config say.
 *
 * Expected values come from the stack config (parsed model) and from records.json, never from the
 * renderer. Each stack gets its own lab host (tests/lab/harness: a network namespace with a private
 * /etc), whose /etc/resolv.conf points at the lab server, so every tool resolves "for real" and only
 * there. The server listens on the namespace's own loopback; nothing leaves it.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { Model } from "../../components/config";
import { parseModel } from "../../components/config";
import type { DnsRecordOut } from "../../scripts/lib/zoneFile";
import { renderStack, RenderedStack } from "../helpers/render";
import { describeRoot } from "../helpers/root";
import { alive, Background, Host, Lab, RunResult, waitFor } from "../lab/harness";
import { REPO_ROOT, stackInput } from "../helpers/stack";

const DKIM_KEY = path.join(REPO_ROOT, "tests/fixtures/dkim/test-only-dkim.key");
const MAILAUTH = path.join(REPO_ROOT, "tests/tools/dns/mailauth.py");
/** Debian's Python: python3-dkim and python3-spf import only there (not in a pyenv python3). */
const SYSTEM_PYTHON = "/usr/bin/python3";
const SERVER = "127.0.0.1";

/** A lab DNS server: `named` in a lab host (own netns and private /etc) whose resolv.conf points at it. */
class DnsLab {
    private readonly lab = new Lab("dns");
    private host?: Host;
    private named?: Background;

    constructor(readonly stack: string) {}

    /** Runs a command inside the lab host (never throws; the status is the caller's to check). */
    exec(args: string[], input?: string): RunResult {
        return this.host!.run(args, { input, allowFailure: true });
    }

    start(zoneFiles: Record<string, string>): void {
        this.host = this.lab.host(this.stack);
        // The host's /etc is a private overlay: every resolver library in it asks the lab server only.
        this.host.sh(`rm -f /etc/resolv.conf && printf 'nameserver ${SERVER}\\noptions timeout:2 attempts:1\\n' > /etc/resolv.conf`);
        const conf = path.join(this.lab.dir, "named.conf");
        writeFileSync(
            conf,
            [
                `options { directory "${this.lab.dir}"; pid-file "${this.lab.dir}/named.pid"; listen-on port 53 { ${SERVER}; }; listen-on-v6 { none; };`,
                `  recursion no; allow-query { any; }; dnssec-validation no; };`,
                `controls { };`,
                ...Object.entries(zoneFiles).map(([zone, file]) => `zone "${zone}" { type primary; file "${file}"; };`),
                "",
            ].join("\n"),
        );
        this.host.run(["named-checkconf", conf]);
        // Foreground (-g), tracked by PID: Lab.cleanup stops exactly this process.
        // Its log goes to a file: the waits below are synchronous, so no output event arrives meanwhile.
        const log = path.join(this.lab.dir, "named.log");
        this.named = this.host.spawn(["sh", "-c", 'exec named -g -c "$1" 2>"$2"', "named", conf, log]);
        // dig fails (no reply) until named has bound its socket and loaded the zones.
        const ready = () => Object.keys(zoneFiles).every((z) => this.exec(["dig", "+short", "+norecurse", "+time=1", "+tries=1", `@${SERVER}`, z, "SOA"]).stdout.trim() !== "");
        waitFor(() => ready() || !alive(this.named!.pid), 15000, `named did not serve ${Object.keys(zoneFiles).join(", ")}`);
        if (!ready()) throw new Error(`named exited:\n${readFileSync(log, "utf8")}`);
    }

    /** `dig +short` answers (one line each), asked of the lab server without recursion. */
    dig(name: string, type: string): string[] {
        const r = this.exec(["dig", "+short", "+norecurse", "+time=2", "+tries=1", `@${SERVER}`, name, type]);
        if (r.status !== 0) throw new Error(`dig ${name} ${type}: ${r.stderr}`);
        return r.stdout.split("\n").filter((l) => l.trim() !== "");
    }

    /** Stops named and removes the namespace and scratch files; returns namespaces left behind. */
    stop(): string[] {
        this.lab.cleanup();
        return this.lab.leftovers();
    }
}

/** The TXT strings of a `dig +short` line, joined (RFC 6376/7208: a record's strings concatenate). */
function txtValue(line: string): string {
    return [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\(.)/g, "$1")).join("");
}

const abs = (name: string) => (name === "." ? "." : `${name}.`);

/** How `dig +short` prints the RDATA of a records.json entry. */
function expectedRdata(r: DnsRecordOut): string {
    const d = r.data ?? {};
    switch (r.type) {
        case "A":
            return String(r.content);
        case "MX":
            return `${r.priority} ${abs(String(r.content))}`;
        case "TXT":
            return String(r.content);
        case "SRV":
            return `${d.priority} ${d.weight} ${d.port} ${abs(String(d.target))}`;
        case "CAA":
            return `${d.flags} ${d.tag} "${d.value}"`;
        default:
            throw new Error(`unexpected record type ${r.type}`);
    }
}

describeRoot("a real DNS server serves the rendered zones (named in a netns, real verifiers)", () => {
    describe.each(["dev", "multi"])("the %s stack", (stack) => {
        const model: Model = parseModel(stackInput(stack));
        let rendered: RenderedStack;
        let lab: DnsLab;

        beforeAll(() => {
            rendered = renderStack(stack);
            lab = new DnsLab(stack);
            lab.start(rendered.zoneFiles);
        });
        afterAll(() => {
            const left = lab?.stop() ?? [];
            rendered?.cleanup();
            expect(left).toEqual([]);
        });

        it("answers every record of records.json with the same content", () => {
            const groups = new Map<string, DnsRecordOut[]>();
            for (const r of rendered.records) groups.set(`${r.name} ${r.type}`, [...(groups.get(`${r.name} ${r.type}`) ?? []), r]);
            expect(groups.size).toBeGreaterThan(stack === "multi" ? 60 : 15);
            for (const [key, recs] of groups) {
                const [name, type] = key.split(" ");
                const answers = lab.dig(name, type).map((l) => (type === "TXT" ? txtValue(l) : l));
                expect({ key, answers: answers.sort() }).toEqual({ key, answers: recs.map(expectedRdata).sort() });
            }
        });

        it("routes every domain's mail to the mail host, whose A is the VPS IP (forward half of FCrDNS)", () => {
            expect(lab.dig(model.mailHost, "A")).toEqual([model.addresses.vpsPublicIp]);
            for (const d of model.domains) {
                const mx = lab.dig(d.name, "MX");
                expect({ domain: d.name, targets: mx.map((l) => l.split(" ")[1]) }).toEqual({ domain: d.name, targets: [`${model.mailHost}.`] });
            }
        });

        it("serves the web hosts of every domain (autoconfig, autodiscover, MTA-STS, WKD) at the VPS", () => {
            for (const d of model.domains) {
                for (const host of [d.autoconfigHost, d.autodiscoverHost, d.mtaStsHost, d.openpgpkeyHost]) {
                    expect({ host, a: lab.dig(host, "A") }).toEqual({ host, a: [model.addresses.vpsPublicIp] });
                }
            }
        });

        it("verifies a DKIM-signed message of every domain through DNS and rejects a tampered copy", () => {
            const checks = model.domains.map((d) => ({ kind: "dkim", domain: d.name, selector: model.dkim.selector, keyFile: DKIM_KEY }));
            const r = lab.exec([SYSTEM_PYTHON, MAILAUTH], JSON.stringify(checks));
            expect(r.stderr).toBe("");
            const results = JSON.parse(r.stdout) as { signed: boolean; tampered: boolean }[];
            expect(results.map((x, i) => ({ domain: model.domains[i].name, ...x }))).toEqual(model.domains.map((d) => ({ domain: d.name, signed: true, tampered: false })));
        });

        it("SPF passes the VPS IP and fails the home WAN IP for every domain and for the HELO name", () => {
            const senders = [...model.domains.map((d) => `user@${d.name}`), ""];
            const checks = senders.flatMap((s) => [
                { kind: "spf", ip: model.addresses.vpsPublicIp, sender: s, helo: model.mailHost },
                { kind: "spf", ip: model.addresses.homeWanIp, sender: s, helo: model.mailHost },
            ]);
            const r = lab.exec([SYSTEM_PYTHON, MAILAUTH], JSON.stringify(checks));
            expect(r.stderr).toBe("");
            const results = (JSON.parse(r.stdout) as { result: string }[]).map((x, i) => `${checks[i].sender || "<> via HELO"} from ${checks[i].ip}: ${x.result}`);
            expect(results).toEqual(senders.flatMap((s) => [`${s || "<> via HELO"} from ${model.addresses.vpsPublicIp}: pass`, `${s || "<> via HELO"} from ${model.addresses.homeWanIp}: fail`]));
        });

        it("publishes a DMARC record that libopendmarc parses into the configured policy, for every domain", () => {
            const alignment = { strict: "strict", relaxed: "relaxed" } as const;
            for (const d of model.domains) {
                const r = lab.exec(["opendmarc-check", d.name]);
                expect({ domain: d.name, status: r.status, err: r.stderr }).toEqual({ domain: d.name, status: 0, err: "" });
                const field = (label: string) => new RegExp(`${label}:\\s*(\\S+)`).exec(r.stdout)?.[1];
                expect({
                    domain: d.name,
                    policy: field("Domain policy"),
                    subdomainPolicy: field("Subdomain policy"),
                    dkim: field("DKIM alignment"),
                    spf: field("SPF alignment"),
                    rua: /Aggregate report URIs:\s*(\S+)/.exec(r.stdout)?.[1],
                }).toEqual({
                    domain: d.name,
                    policy: model.dmarc.policy,
                    subdomainPolicy: model.dmarc.subdomainPolicy,
                    dkim: alignment[model.dmarc.dkimAlignment],
                    spf: alignment[model.dmarc.spfAlignment],
                    rua: `mailto:${model.dmarc.reportAddress}`,
                });
            }
        });

        it("authorises DMARC reports for domains whose reports go to another domain of the stack (RFC 7489 7.1)", () => {
            const reportDomain = model.dmarc.reportAddress.split("@")[1];
            const foreign = model.domains.filter((d) => d.name !== reportDomain && !d.name.endsWith(`.${reportDomain}`));
            if (stack === "multi") expect(foreign.length).toBeGreaterThan(0);
            for (const d of foreign) {
                expect(lab.dig(`${d.name}._report._dmarc.${reportDomain}`, "TXT").map(txtValue)).toEqual(["v=DMARC1"]);
            }
        });

        it("advertises the offered services by SRV from the port table and the closed ones as 'no service'", () => {
            for (const d of model.domains) {
                for (const p of model.ports.filter((x) => x.srv)) {
                    const answers = lab.dig(`${p.srv}.${d.name}`, "SRV").map((l) => l.split(" "));
                    expect({ srv: `${p.srv}.${d.name}`, portAndTarget: answers.map((a) => `${a[2]} ${a[3]}`) }).toEqual({ srv: `${p.srv}.${d.name}`, portAndTarget: [`${p.publicPort} ${model.mailHost}.`] });
                }
                for (const p of model.notOffered.filter((x) => x.srv)) {
                    expect(lab.dig(`${p.srv}.${d.name}`, "SRV")).toEqual(["0 0 0 ."]);
                }
            }
            // Exactly the services named in the table: 465/993/995/443 offered, 587/143/110 closed.
            expect(model.ports.filter((p) => p.srv).map((p) => p.srv).sort()).toEqual(["_autodiscover._tcp", "_imaps._tcp", "_pop3s._tcp", "_submissions._tcp"]);
        });

        it("publishes MTA-STS (one valid id for all domains) and TLS-RPT to the configured address", () => {
            const ids = new Set<string>();
            for (const d of model.domains) {
                const sts = lab.dig(`_mta-sts.${d.name}`, "TXT").map(txtValue);
                expect(sts).toHaveLength(1);
                // RFC 8461 3.1: v=STSv1 first, id of 1-32 letters and digits.
                const m = /^v=STSv1; id=([A-Za-z0-9]{1,32})$/.exec(sts[0]);
                expect({ domain: d.name, sts: sts[0], valid: !!m }).toEqual({ domain: d.name, sts: sts[0], valid: true });
                ids.add(m![1]);
                expect(lab.dig(`_smtp._tls.${d.name}`, "TXT").map(txtValue)).toEqual([`v=TLSRPTv1; rua=mailto:${model.tlsRptAddress}`]);
            }
            expect(ids.size).toBe(1);
            // The id is the hash of the policy file the VPS actually serves (rendered by WkdSite), so
            // it changes exactly when senders must refetch that file.
            const served = readFileSync(path.join(rendered.root, "hosts/vps/opt/homemail/gateway/wkd/public/.well-known/mta-sts.txt"));
            expect([...ids]).toEqual([createHash("sha256").update(served).digest("hex").slice(0, 20)]);
        });

        it("lets only Let's Encrypt issue, never a wildcard, for every name we publish (CAA tree climbing)", () => {
            /** RFC 8659 3: the relevant CAA set is the first non-empty one climbing from the name up. */
            const relevantCaa = (name: string): string[] => {
                for (let n = name; n.includes("."); n = n.slice(n.indexOf(".") + 1)) {
                    const set = lab.dig(n, "CAA");
                    if (set.length) return set.sort();
                }
                return [];
            };
            const names = [model.mailHost, ...model.extraHostnames, ...model.domains.flatMap((d) => [d.name, d.mtaStsHost, d.openpgpkeyHost, d.autoconfigHost, d.autodiscoverHost])];
            for (const n of names) {
                expect({ name: n, caa: relevantCaa(n) }).toEqual({ name: n, caa: ['0 iodef "mailto:' + model.adminAddress + '"', '0 issue "letsencrypt.org"', '0 issuewild ";"'] });
            }
        });
    });
});
