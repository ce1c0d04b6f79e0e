/**
 * The README's prerequisites tell a new user what breaks a first deployment: outbound port 25 on the
 * VPS, the state backend (`pulumi login`), and exactly the records the conflict check refuses. The
 * last list is derived from the check itself (every record type at every name homemail publishes),
 * so the README cannot drift from what `pulumi up` enforces.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { renderDnsRecords } from "../../components/render/dns";
import { dnsConflicts, ExistingRecord } from "../../components/render/dnsConflicts";
import { devModel, REPO_ROOT } from "../helpers/stack";

const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
const prerequisites = readme.slice(readme.indexOf("### Prerequisites"), readme.indexOf("### Steps"));

describe("README prerequisites", () => {
    it("say that the VPS provider must allow outbound TCP 25, how to ask and how to check", () => {
        expect(prerequisites).toMatch(/[Oo]utbound TCP\s+port 25/);
        expect(prerequisites).toMatch(/block\s+port 25/);
        expect(prerequisites).toMatch(/support\s+ticket/);
        expect(prerequisites).toMatch(/nc -vz .* 25/);
    });

    it("say to choose a state backend with pulumi login before the first stack", () => {
        expect(prerequisites).toMatch(/`pulumi login`/);
        expect(prerequisites).toMatch(/pulumi login file:\/\//);
        expect(prerequisites).toMatch(/PULUMI_CONFIG_PASSPHRASE/);
    });

    it("list every kind of record the conflict check refuses, and where", () => {
        const model = devModel();
        const domain = model.domains[0].name;
        const names = [...new Set(renderDnsRecords(model).map((r) => r.name))];
        const kinds = [
            { type: "A", content: "192.0.2.1" },
            { type: "AAAA", content: "2001:db8::1" },
            { type: "CNAME", content: "elsewhere.example.net" },
            { type: "MX", content: "mx.example.net" },
            { type: "TXT", content: "v=spf1 -all" },
            { type: "TXT", content: "something else" },
            { type: "CAA", content: '0 issue "ca.example.net"' },
        ];
        const listing: ExistingRecord[] = names.flatMap((name) => kinds.map((k) => ({ zone: domain, name, comment: "", ...k })));
        const flagged = dnsConflicts(model, listing).map((l) => /^\S+: (\S+) (\S+) /.exec(l)!.slice(1, 3) as [string, string]);
        expect(flagged.length).toBeGreaterThan(0);
        /** How the README names a place: the mail host, a domain, or a label under a domain. */
        const place = (name: string): string =>
            name === model.mailHost ? "mail host" : name === domain ? "per mail domain" : name.endsWith(`._domainkey.${domain}`) ? "`<dkimSelector>._domainkey.<domain>`" : `\`${name.slice(0, -domain.length)}\``;
        for (const [type, name] of flagged) {
            const where = place(name);
            expect({ type, name, where, listed: prerequisites.includes(where) }).toEqual({ type, name, where, listed: true });
            expect({ type, name, listed: prerequisites.includes(`\`${type}\``) || (type === "TXT" && prerequisites.includes("`TXT`")) }).toEqual({ type, name, listed: true });
        }
        expect(prerequisites).toContain("`extraHostnames`");
    });
});
