/**
 * The day-one conflict check, in the real program under mocks: the mock engine's invoke returns a
 * fake listing of each zone's records (as Cloudflare's record list would), and the program must stop
 * before registering anything, with one line per conflicting record naming it and the fix. Records
 * carrying this stack's own comment (a second `up`) and unrelated records are not conflicts.
 */
import { runDevProgram, registeredCount } from "../helpers/program";
import { stackInput } from "../helpers/stack";

const LIST_RECORDS = "cloudflare:index/getDnsRecords:getDnsRecords";

interface Listed {
    name: string;
    type: string;
    content: string;
    comment?: string;
}

/** An invoke answer for the record list: the listing of the zone whose id the program asks for. */
function listing(byZoneId: Record<string, Listed[]>) {
    return (token: string, inputs: Record<string, unknown>) =>
        token === LIST_RECORDS ? { results: (byZoneId[String(inputs.zoneId)] ?? []).map((r) => ({ comment: "", ...r })) } : undefined;
}

async function failure(stack: string, byZoneId: Record<string, Listed[]>): Promise<Error> {
    const err = await runDevProgram(stackInput(stack), undefined, listing(byZoneId)).then(
        () => undefined,
        (e: unknown) => e,
    );
    if (!(err instanceof Error)) throw new Error("the program ran although the zones conflict");
    return err;
}

/** The records a report names (`TYPE name "content"`), for comparing with the listing. */
const named = (message: string) => message.split("\n").slice(1).map((l) => /^ {2}- [a-z.]+: ([A-Z]+ \S+ "(?:[^"\\]|\\.)*") conflicts with homemail's .+\. Fix: .+\.$/.exec(l)?.[1] ?? `unparsed: ${l}`);
const isRunError = (e: unknown) => (e as { __pulumiRunError?: boolean } | undefined)?.__pulumiRunError === true;
const id = (r: Listed) => `${r.type} ${r.name} ${JSON.stringify(r.content)}`;

const DEV_ZONE = "0123456789abcdef0123456789abcdef";
const OWN = "homemail dev: ";

describe("the DNS conflict check (mocks, fake zone listings)", () => {
    const conflicting: Listed[] = [
        { name: "example.com", type: "MX", content: "mx.oldmail.example.net" },
        { name: "example.com", type: "TXT", content: "v=spf1 include:_spf.oldmail.example.net ~all" },
        // Another stack's homemail records are someone else's too.
        { name: "example.com", type: "TXT", content: "v=spf1 ip4:192.0.2.7 -all", comment: "homemail prod: SPF: only the VPS IP sends" },
        { name: "example.com", type: "CAA", content: '0 issue "digicert.com"' },
        { name: "_dmarc.example.com", type: "TXT", content: "v=DMARC1; p=none" },
        { name: "_mta-sts.example.com", type: "TXT", content: "v=STSv1; id=20190101" },
        { name: "_smtp._tls.example.com", type: "TXT", content: "v=TLSRPTv1; rua=mailto:tls@example.net" },
        { name: "dkim._domainkey.example.com", type: "TXT", content: "v=DKIM1; k=rsa; p=MIGfOLD" },
        { name: "mail.example.com", type: "A", content: "192.0.2.99" },
        { name: "mail.example.com", type: "AAAA", content: "2001:db8::25" },
        // TXT content as the API may return it: in quotes.
        { name: "mail.example.com", type: "TXT", content: '"v=spf1 a -all"' },
        { name: "autoconfig.example.com", type: "CNAME", content: "autoconfig.oldmail.example.net" },
        { name: "autodiscover.example.com", type: "A", content: "192.0.2.98" },
        { name: "mta-sts.example.com", type: "A", content: "192.0.2.97" },
        { name: "openpgpkey.example.com", type: "CNAME", content: "wkd.keys.openpgp.org" },
    ];
    const harmless: Listed[] = [
        { name: "example.com", type: "TXT", content: "google-site-verification=abc123" },
        { name: "www.example.com", type: "A", content: "192.0.2.80" },
        { name: "example.com", type: "MX", content: "mail.example.com", comment: `${OWN}MX: mail goes to the mail host` },
        { name: "_dmarc.example.com", type: "TXT", content: "v=DMARC1; p=quarantine", comment: `${OWN}DMARC policy` },
        { name: "mail.example.com", type: "A", content: "203.0.113.10", comment: `${OWN}mail host (MX target, PTR name); never proxied` },
    ];

    it("stops before registering anything, with one line per conflicting record (and none for harmless or own ones)", async () => {
        const err = await failure("dev", { [DEV_ZONE]: [...harmless, ...conflicting] });
        expect(registeredCount()).toBe(0);
        // A RunError (matched by its marker: each run has its own @pulumi/pulumi): Pulumi prints its
        // message without a stack trace, and the render exits 2 on it.
        expect(isRunError(err)).toBe(true);
        expect(err.message).not.toMatch(/\n\s+at /);
        expect(err.message.split("\n")[0]).toMatch(new RegExp(`^homemail: the Cloudflare zones hold ${conflicting.length} records that conflict with homemail's own; nothing was changed:$`));
        expect(named(err.message).sort()).toEqual(conflicting.map(id).sort());
    });

    it("reports the conflicts of every zone at once: extra hostnames, other zones' domains, alternative domains, the DKIM selector", async () => {
        const zones = JSON.parse(stackInput("multi").values["homemail:cloudflareZones"]) as Record<string, string>;
        const byZone: Record<string, Listed[]> = {
            [zones["example.com"]]: [
                { name: "webmail.example.com", type: "CNAME", content: "ghs.googlehosted.com" },
                { name: "_dmarc.alt.example.com", type: "TXT", content: "v=DMARC1; p=none" },
            ],
            [zones["example.org"]]: [{ name: "example.org", type: "MX", content: "aspmx.l.google.com" }],
            [zones["example.net"]]: [
                { name: "mail2024._domainkey.example.net", type: "TXT", content: "v=DKIM1; p=OLD" },
                // The dev stack's selector is not this stack's: no conflict.
                { name: "dkim._domainkey.example.net", type: "TXT", content: "v=DKIM1; p=OTHER" },
            ],
        };
        const err = await failure("multi", byZone);
        expect(registeredCount()).toBe(0);
        expect(named(err.message).sort()).toEqual(
            ['CNAME webmail.example.com "ghs.googlehosted.com"', 'TXT _dmarc.alt.example.com "v=DMARC1; p=none"', 'MX example.org "aspmx.l.google.com"', 'TXT mail2024._domainkey.example.net "v=DKIM1; p=OLD"'].sort(),
        );
        for (const line of err.message.split("\n").slice(1)) expect(line).toMatch(/Fix: delete it in the Cloudflare dashboard/);
    });

    it("lets the program run when the zones hold only homemail's own records and unrelated ones (the second up)", async () => {
        const run = await runDevProgram(stackInput("dev"), undefined, listing({ [DEV_ZONE]: harmless }));
        expect(run.resources.length).toBeGreaterThan(50);
    });

    it("says which zone it could not read and what the token needs, when the record list fails", async () => {
        const err = await runDevProgram(stackInput("dev"), undefined, (token) => {
            // As the engine's gRPC error carries it (the SDK reads `details`).
            if (token === LIST_RECORDS) throw Object.assign(new Error("403 Forbidden: Authentication error"), { details: "403 Forbidden: Authentication error" });
            return undefined;
        }).then(
            () => undefined,
            (e: unknown) => e as Error,
        );
        expect(registeredCount()).toBe(0);
        expect(isRunError(err)).toBe(true);
        expect(err?.message).toMatch(/could not list the DNS records of zone example\.com \(0123456789abcdef0123456789abcdef\).*403 Forbidden.*Fix: .*cloudflare:apiToken.*DNS Read/);
    });
});
