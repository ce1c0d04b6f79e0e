/**
 * What the offline render publishes, read back from `npm run render`'s out/<stack>/ tree of the dev
 * and the multi-zone stack: records.json and outputs.json as a user (and the labs) see them.
 */
import * as ipaddr from "ipaddr.js";
import { parseModel } from "../../components/config";
import { renderStack, RenderedStack } from "../helpers/render";
import { stackInput } from "../helpers/stack";

describe.each(["dev", "multi"])("the %s stack's rendered records and outputs", (stack) => {
    const model = parseModel(stackInput(stack));
    let rendered: RenderedStack;
    beforeAll(() => {
        rendered = renderStack(stack);
    });
    afterAll(() => rendered?.cleanup());

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
