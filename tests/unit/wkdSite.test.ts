import * as path from "node:path";
import { assertValidHostFile } from "../../components/render/hostFile";
import { MTA_STS_FILE, renderWkdSite, WKD_CONF, WKD_DIR, WKD_PUBLIC, WKD_CONTAINER_CONF_DIR, wkdRoutes } from "../../components/render/wkdSite";
import { wkdHash } from "../../components/render/wkdHash";
import { parseModel } from "../../components/config";
import { BOB_KEY } from "../helpers/openpgp";
import { devModel, devValue, withConfig } from "../helpers/stack";

const twoDomains = () =>
    parseModel(
        withConfig([
            { key: "homemail:extraDomains", value: ["example.org"] },
            { key: "homemail:cloudflareZones", value: { ...devValue<Record<string, string>>("homemail:cloudflareZones"), "example.org": "fedcba9876543210fedcba9876543210" } },
            { key: "homemail:users", value: [...devValue<unknown[]>("homemail:users"), { address: "bob@example.com", openpgpPublicKey: BOB_KEY() }] },
        ]),
    );

describe("renderWkdSite", () => {
    const model = twoDomains();
    const site = renderWkdSite(model);

    it("puts the server block, the MTA-STS policy and the WKD tree on the VPS, public and valid", () => {
        expect(site.files.map((f) => f.path)).toEqual([
            WKD_CONF,
            `${WKD_PUBLIC}/${MTA_STS_FILE}`,
            `${WKD_PUBLIC}/.well-known/openpgpkey/example.com/hu/${wkdHash("bob")}`,
            `${WKD_PUBLIC}/.well-known/openpgpkey/example.com/hu/${wkdHash("user")}`,
            `${WKD_PUBLIC}/.well-known/openpgpkey/example.com/policy`,
            `${WKD_PUBLIC}/.well-known/openpgpkey/example.org/hu/${wkdHash("bob")}`,
            `${WKD_PUBLIC}/.well-known/openpgpkey/example.org/policy`,
        ]);
        for (const f of site.files) {
            assertValidHostFile(f);
            expect(f).toMatchObject({ host: "vps", mode: "0644", owner: "root:root", secret: false });
            expect(f.path.startsWith(`${WKD_DIR}/`)).toBe(true);
            expect(f.encoding === "base64").toBe(f.path.includes("/hu/"));
        }
        // The server block is checked by the pinned image's nginx before it goes live.
        expect(site.files[0].validate).toBe(`docker run --rm --network none -v {}:/etc/nginx/conf.d/wkd.conf:ro nginx:${model.images.nginx} nginx -t -q`);
        expect(site.files[1].content).toContain(`\r\nmx: ${model.mailHost}\r\n`);
    });

    it("prepares every directory 0755 (parents first) and prunes only below .well-known/openpgpkey", () => {
        const dirs = site.directories;
        expect(dirs).toEqual([...dirs].sort());
        for (const f of site.files) expect(dirs).toContain(path.posix.dirname(f.path));
        for (const d of dirs.filter((x) => x !== WKD_DIR)) expect(dirs).toContain(path.posix.dirname(d));
        expect(site.prepareScript).toContain(`install -d -m 0755 -o root -g root ${dirs.map((d) => `'${d}'`).join(" ")}`);
        expect(site.prepareScript).toContain(`r='${WKD_PUBLIC}/.well-known/openpgpkey'`);
        for (const f of site.files.filter((x) => x.path.includes("/openpgpkey/"))) expect(site.prepareScript).toContain(`'${f.path}') ;;`);
        expect(site.prepareScript).not.toContain(WKD_CONF);
    });

    it("reloads nginx only through the running compose service", () => {
        expect(site.reloadScript).toContain("docker compose -f '/opt/homemail/gateway/compose.yaml' exec -T wkd nginx -s reload");
        expect(site.reloadScript).toContain("--status running --services");
    });

    it("exports the Traefik hosts and the loopback backend as plain data", () => {
        expect(wkdRoutes(model)).toEqual({
            hosts: ["mta-sts.example.com", "mta-sts.example.org", "openpgpkey.example.com", "openpgpkey.example.org"],
            backendUrl: "http://127.0.0.1:8088",
        });
        expect(site.routes).toEqual(wkdRoutes(model));
        expect(site.keys.map((k) => k.url)).toEqual([
            `https://openpgpkey.example.com/.well-known/openpgpkey/example.com/hu/${wkdHash("bob")}?l=bob`,
            `https://openpgpkey.example.org/.well-known/openpgpkey/example.org/hu/${wkdHash("bob")}?l=bob`,
            `https://openpgpkey.example.com/.well-known/openpgpkey/example.com/hu/${wkdHash("user")}?l=user`,
        ]);
    });

    it("listens where Traefik connects and serves the tree the gateway mounts as conf.d", () => {
        const conf = site.files[0].content;
        expect(conf).toContain(`listen ${new URL(site.routes.backendUrl).host} default_server;`);
        expect(conf).toContain(`root ${WKD_CONTAINER_CONF_DIR}/public;`);
    });

    it("is deterministic", () => {
        expect(JSON.stringify(renderWkdSite(twoDomains()))).toBe(JSON.stringify(site));
        expect(renderWkdSite(devModel()).files.map((f) => f.path)).toEqual([
            WKD_CONF,
            `${WKD_PUBLIC}/${MTA_STS_FILE}`,
            `${WKD_PUBLIC}/.well-known/openpgpkey/example.com/hu/${wkdHash("user")}`,
            `${WKD_PUBLIC}/.well-known/openpgpkey/example.com/policy`,
        ]);
    });
});
