/**
 * The rendered Mailu compose project against the Compose Specification's own JSON schema
 * (../shared/schemas/compose-spec.json, draft 2020-12: ajv/dist/2020 with strict false, as its README
 * says). Docker is not available here; this is the consumer-tool check that is.
 */
import Ajv2020 from "ajv/dist/2020";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { parseModel, Model } from "../../components/config";
import { mailuImages, renderMailuCompose } from "../../components/render/mailu";
import { devModel, withConfig, REPO_ROOT } from "../helpers/stack";

// CI clones the repo with shared/ beside it; a worktree sits beside it too.
const SCHEMA = path.resolve(REPO_ROOT, "..", "shared", "schemas", "compose-spec.json");

const variants: [string, Model][] = [
    ["dev stack (snappymail)", devModel()],
    ["every option on (roundcube, antivirus, webdav, fetchmail, API)", parseModel(withConfig([{ key: "homemail:mailu", value: { webmail: "roundcube", antivirus: true, webdav: true, fetchmail: true, api: true } }]))],
    ["no webmail, other data root", parseModel(withConfig([{ key: "homemail:mailu", value: { webmail: "none", dataRoot: "/mnt/luks/mailu" } }]))],
];

describe("Mailu compose.yaml against compose-spec.json", () => {
    if (!existsSync(SCHEMA)) {
        it.skip(`needs ${SCHEMA} (shared/ beside the repo)`, () => undefined);
        return;
    }
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA, "utf8")));

    it.each(variants)("%s validates", (_title, model) => {
        const digests = Object.fromEntries(mailuImages(model).map((i) => [i.ref, `sha256:${"0".repeat(64)}`]));
        const doc = parse(renderMailuCompose(model, digests).content);
        const ok = validate(doc);
        expect(ok ? [] : validate.errors).toEqual([]);
    });

    it("would catch a broken project (the check is not vacuous)", () => {
        const model = devModel();
        const digests = Object.fromEntries(mailuImages(model).map((i) => [i.ref, `sha256:${"0".repeat(64)}`]));
        const doc = parse(renderMailuCompose(model, digests).content) as { services: Record<string, Record<string, unknown>> };
        doc.services.front.ports = [{ published: "25", target: "not-a-port", bogus: true }];
        expect(validate(doc)).toBe(false);
    });
});
