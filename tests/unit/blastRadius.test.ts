import { blastRadiusTable } from "../../scripts/lib/blastRadius";
import { DMARC_POLICY, WIREGUARD_PORT } from "../../scripts/lib/stackEdits";

describe("blast-radius table", () => {
    it("lists each touched item with its marker, and says so when a change cannot be rendered", () => {
        const table = blastRadiusTable([
            {
                edit: DMARC_POLICY,
                result: {
                    files: [],
                    steps: [],
                    documents: [],
                    records: [{ kind: "changed", zone: "example.com", name: "_dmarc.example.com", type: "TXT", fields: [] }],
                    resources: [{ kind: "changed", urn: "urn:pulumi:dev::homemail::homemail:dns:DnsZone$cloudflare:index/dnsRecord:DnsRecord::dns-dmarc", type: "x", fields: [] }],
                    outputs: [{ kind: "added", name: "a|b", fields: [] }],
                },
            },
            { edit: WIREGUARD_PORT, result: { error: "homemail:wireguard.port: too big" } },
        ]);
        const rows = table.trim().split("\n");
        expect(rows).toHaveLength(4);
        expect(rows[2]).toContain("| — | ~ TXT _dmarc.example.com | ~ dns-dmarc | + a\\|b |");
        expect(rows[3]).toContain("render failed: homemail:wireguard.port: too big");
    });
});
