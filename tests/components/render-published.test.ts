/**
 * What the offline render publishes, read back from `npm run render`'s out/<stack>/ tree of the dev
 * and the multi-zone stack: records.json and outputs.json as a user (and the labs) see them.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as ipaddr from "ipaddr.js";
import { parseModel } from "../../components/config";
import { renderStack, RenderedStack } from "../helpers/render";
import { REPO_ROOT, stackInput } from "../helpers/stack";

/** One render per stack, shared by every describe of this file. */
const renders = new Map<string, RenderedStack>();
function renderOnce(stack: string): RenderedStack {
    if (!renders.has(stack)) renders.set(stack, renderStack(stack));
    return renders.get(stack)!;
}
afterAll(() => {
    for (const r of renders.values()) r.cleanup();
});

describe.each(["dev", "multi"])("the %s stack's rendered records and outputs", (stack) => {
    const model = parseModel(stackInput(stack));
    let rendered: RenderedStack;
    beforeAll(() => {
        rendered = renderOnce(stack);
    });

    it("never name home.wanIp in any record, and no SPF mechanism of any record covers it", () => {
        const home = ipaddr.IPv4.parse(model.addresses.homeWanIp);
        const escaped = model.addresses.homeWanIp.replace(/\./g, "\\.");
        const literal = new RegExp(`(^|[^0-9.])${escaped}($|[^0-9]|\\.(?![0-9]))`);
        expect(rendered.records.length).toBeGreaterThan(0);
        let spfRecords = 0;
        for (const r of rendered.records) {
            const values = [r.content, ...Object.values(r.data ?? {})].filter((v) => v !== null).map(String);
            for (const v of values) expect({ record: `${r.type} ${r.name}`, value: v, leaks: literal.test(v) }).toEqual({ record: `${r.type} ${r.name}`, value: v, leaks: false });
            if (r.type !== "TXT" || !String(r.content).startsWith("v=spf1")) continue;
            spfRecords++;
            for (const term of String(r.content).split(/\s+/)) {
                const m = /^[+?~-]?ip4:(.+)$/.exec(term);
                if (!m) continue;
                const [net, len] = m[1].includes("/") ? ipaddr.IPv4.parseCIDR(m[1]) : [ipaddr.IPv4.parse(m[1]), 32];
                expect({ record: r.name, term, coversHome: home.match(net, len) }).toEqual({ record: r.name, term, coversHome: false });
            }
        }
        expect(spfRecords).toBeGreaterThanOrEqual(model.domains.length);
    });
});

/** Every fixture value a render may show (read from tests/fixtures/ here, not from the engine). */
function fixtureTexts(): string[] {
    const fx = JSON.parse(readFileSync(path.join(REPO_ROOT, "tests/fixtures/provider-outputs.json"), "utf8"));
    const dkim = readFileSync(path.join(REPO_ROOT, "tests/fixtures/dkim/test-only-dkim.pub"), "utf8").replace(/-----[A-Z ]+-----|\s/g, "");
    return [dkim, fx.byType["cloudflare:index/zoneDnssec:ZoneDnssec"].digest, fx.wireguardPublicKeys.hub, fx.wireguardPublicKeys.spoke, fx.byType["docker:index/remoteImage:RemoteImage"].repoDigest];
}

/** Every string leaf with its path (`dkim[0].value`), skipping the marker keys themselves. */
function stringLeaves(v: unknown, at: string): { path: string; value: string }[] {
    if (typeof v === "string") return [{ path: at, value: v }];
    if (Array.isArray(v)) return v.flatMap((x, i) => stringLeaves(x, `${at}[${i}]`));
    if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => stringLeaves(x, at ? `${at}.${k}` : k));
    return [];
}

describe.each(["dev", "multi"])("fixture values in the %s stack's render are marked, never changed", (stack) => {
    const model = parseModel(stackInput(stack));
    const fixtures = fixtureTexts();
    // The mock engine's resource ids (`<name>-id`, what a provider would assign) are fixtures too.
    let ids: Set<string>;
    const isFixture = (s: string) => fixtures.some((f) => s.includes(f)) || ids.has(s);
    let rendered: RenderedStack;
    beforeAll(() => {
        rendered = renderOnce(stack);
        const resources = JSON.parse(readFileSync(path.join(rendered.root, "resources.json"), "utf8")) as { name: string; custom: boolean }[];
        ids = new Set(resources.filter((r) => r.custom).map((r) => `${r.name}-id`));
    });

    it("opens outputs.json with a banner line saying the values are test-only and the DS is the same in every zone", () => {
        const text = readFileSync(path.join(rendered.root, "outputs.json"), "utf8");
        expect(text.split("\n")[1]).toMatch(/^ {2}"_banner": ".*TEST-ONLY FIXTURES.*same fixture DNSSEC DS.*",$/);
    });

    it("lists the path of every output value that holds a fixture, and nothing else", () => {
        const { _banner, _fixtureValues, ...outputs } = rendered.outputs;
        expect(_banner).toEqual(expect.any(String));
        const expected = stringLeaves(outputs, "").filter((l) => isFixture(l.value)).map((l) => l.path).sort();
        expect(expected).toEqual(expect.arrayContaining(["acmeToken.id", "wireguardPublicKeys.hub", "wireguardPublicKeys.spoke", "dkim[0].value", "registrarDs[0].digest"]));
        expect(_fixtureValues).toEqual(expected);
    });

    it("marks every zone's DS, every DKIM output and the WireGuard keys fixture: true, with the fixture values unchanged", () => {
        const fx = JSON.parse(readFileSync(path.join(REPO_ROOT, "tests/fixtures/provider-outputs.json"), "utf8"));
        const ds = rendered.outputs.registrarDs as { zone: string; digest: string; fixture?: boolean }[];
        expect(ds.map((d) => d.zone).sort()).toEqual(model.cloudflare.zones.map((z) => z.name).sort());
        for (const d of ds) expect(d).toEqual(expect.objectContaining({ digest: fx.byType["cloudflare:index/zoneDnssec:ZoneDnssec"].digest, fixture: true }));
        for (const d of rendered.outputs.dkim as { fixture?: boolean }[]) expect(d.fixture).toBe(true);
        expect(rendered.outputs.wireguardPublicKeys).toEqual({ ...fx.wireguardPublicKeys, fixture: true });
        // Objects without a fixture value carry no mark.
        expect(rendered.outputs.ptr).not.toHaveProperty("fixture");
        expect(rendered.outputs.addressPlan).not.toHaveProperty("fixture");
    });

    it("marks exactly the records.json entries whose value is a fixture (the DKIM keys), and the zone file says so above each", () => {
        const dkimKey = fixtures[0];
        for (const r of rendered.records) {
            const holds = isFixture(JSON.stringify([r.content, r.data]));
            expect({ record: `${r.type} ${r.name}`, fixture: r.fixture ?? false }).toEqual({ record: `${r.type} ${r.name}`, fixture: holds });
            if (holds) expect(r.content).toBe(`v=DKIM1; k=rsa; p=${dkimKey}`);
        }
        expect(rendered.records.filter((r) => r.fixture)).toHaveLength(model.domains.length);
        for (const [zone, file] of Object.entries(rendered.zoneFiles)) {
            const lines = readFileSync(file, "utf8").split("\n");
            const dkimLines = lines.map((l, i) => [l, i] as const).filter(([l]) => l.includes("._domainkey."));
            expect({ zone, dkim: dkimLines.length }).toEqual({ zone, dkim: rendered.records.filter((r) => r.zone === zone && r.fixture).length });
            for (const [, i] of dkimLines) expect(lines[i - 1]).toMatch(/^; FIXTURE: test-only/);
        }
    });
});
