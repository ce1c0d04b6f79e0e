import { renderWkdTree } from "../../components/render/wkd";
import { wkdHash } from "../../components/render/wkdHash";
import type { MailDomain, WkdPublication } from "../../components/config/model";

const domain = (name: string) => ({ name }) as MailDomain;
const pub = (address: string, bytes: number[]): WkdPublication => {
    const [localPart, d] = address.split("@");
    return { address, localPart, domain: d, fingerprint: "F".repeat(40), userIds: [`<${address}>`], configKey: "homemail:users[0].openpgpPublicKey", keyBase64: Buffer.from(bytes).toString("base64") };
};

describe("renderWkdTree", () => {
    const model = { domains: [domain("example.com"), domain("example.org")], wkd: { publications: [pub("bob@example.org", [2]), pub("user@example.com", [1, 2, 3])] } };

    it("has an empty policy for every domain and each key at hu/<hash of the local part>, sorted", () => {
        const files = renderWkdTree(model);
        expect(files.map((f) => f.path)).toEqual([
            `.well-known/openpgpkey/example.com/hu/${wkdHash("user")}`,
            ".well-known/openpgpkey/example.com/policy",
            `.well-known/openpgpkey/example.org/hu/${wkdHash("bob")}`,
            ".well-known/openpgpkey/example.org/policy",
        ]);
        expect(Buffer.from(files[0].bytes)).toEqual(Buffer.from([1, 2, 3]));
        expect(files[1].bytes).toHaveLength(0);
    });

    it("is the same for any input order", () => {
        const reversed = { domains: [...model.domains].reverse(), wkd: { publications: [...model.wkd.publications].reverse() } };
        expect(renderWkdTree(reversed)).toEqual(renderWkdTree(model));
    });

    it("refuses a publication outside the mail domains or two for one file (config-layer bugs)", () => {
        expect(() => renderWkdTree({ ...model, wkd: { publications: [pub("x@example.net", [1])] } })).toThrow(/not in a mail domain/);
        expect(() => renderWkdTree({ ...model, wkd: { publications: [pub("x@example.com", [1]), pub("x@example.com", [2])] } })).toThrow(/two publications/);
    });
});
