import { renderWkdNginxConf, WkdNginxDomain } from "../../components/render/wkdNginx";

const d = (name: string): WkdNginxDomain => ({ name, openpgpkeyHost: `openpgpkey.${name}`, mtaStsHost: `mta-sts.${name}` });
const args = { domains: [d("example.com"), d("example.org")], listen: { address: "127.0.0.1", port: 8088 }, root: "/etc/nginx/conf.d/public" };

/** Server blocks as { names, body } (top-level `server { ... }` only). */
function servers(conf: string): { names: string[]; body: string }[] {
    const out: { names: string[]; body: string }[] = [];
    for (const m of conf.matchAll(/^server \{\n([\s\S]*?)^\}$/gm)) {
        const names = /server_name ([^;]+);/.exec(m[1])![1].split(" ");
        out.push({ names, body: m[1] });
    }
    return out;
}

describe("renderWkdNginxConf", () => {
    const conf = renderWkdNginxConf(args);

    it("starts with the managed-by header and ends with one newline", () => {
        expect(conf.startsWith("# managed by homemail, do not edit\n")).toBe(true);
        expect(conf.endsWith("}\n")).toBe(true);
        expect(conf).not.toMatch(/\r|\t/);
    });

    it("listens only on the loopback address, with a catch-all 404 default server and no listings", () => {
        const [first] = servers(conf);
        expect(first.names).toEqual(["_"]);
        expect(first.body).toContain("listen 127.0.0.1:8088 default_server;");
        for (const s of servers(conf)) expect(s.body).toMatch(/^    listen 127\.0\.0\.1:8088( default_server)?;$/m);
        expect(conf.match(/listen /g)).toHaveLength(servers(conf).length);
        expect(first.body).toContain("return 404;");
        expect(conf).not.toMatch(/autoindex on/);
    });

    it("serves each domain's WKD tree only on its own openpgpkey host, binary and with CORS", () => {
        for (const name of ["example.com", "example.org"]) {
            const s = servers(conf).filter((x) => x.names.includes(`openpgpkey.${name}`));
            expect(s).toHaveLength(1);
            expect(s[0].names).toEqual([`openpgpkey.${name}`]);
            const loc = new RegExp(`location /\\.well-known/openpgpkey/${name.replace(".", "\\.")}/ \\{([\\s\\S]*?)\\n    \\}`).exec(s[0].body);
            expect(loc).not.toBeNull();
            expect(loc![1]).toContain("default_type application/octet-stream;");
            expect(loc![1]).toContain("types { }");
            expect(loc![1]).toContain('add_header Access-Control-Allow-Origin "*" always;');
            expect(loc![1]).toContain("try_files $uri =404;");
            expect(s[0].body).toMatch(/location \/ \{\s*return 404;/);
            // No other domain's tree on this host.
            expect(s[0].body.match(/openpgpkey\/[a-z.]+\//g)!.every((p) => p === `openpgpkey/${name}/`)).toBe(true);
        }
    });

    it("serves the MTA-STS policy as text/plain on every mta-sts host and nothing else there", () => {
        const s = servers(conf).filter((x) => x.names.some((n) => n.startsWith("mta-sts.")));
        expect(s).toHaveLength(1);
        expect(s[0].names).toEqual(["mta-sts.example.com", "mta-sts.example.org"]);
        const loc = /location = \/\.well-known\/mta-sts\.txt \{([\s\S]*?)\n    \}/.exec(s[0].body);
        expect(loc![1]).toContain("types { }");
        expect(loc![1]).toContain("default_type text/plain;");
        expect(loc![1]).toContain("try_files $uri =404;");
        expect(s[0].body).toMatch(/location \/ \{\s*return 404;/);
    });

    it("is the same for any domain order", () => {
        expect(renderWkdNginxConf({ ...args, domains: [...args.domains].reverse() })).toBe(conf);
    });

    it("refuses text that is not a hostname, port or path (it is spliced into nginx syntax)", () => {
        expect(() => renderWkdNginxConf({ ...args, domains: [d("example.com; evil")] })).toThrow(/not a lowercase hostname/);
        expect(() => renderWkdNginxConf({ ...args, listen: { address: "127.0.0.1", port: 0 } })).toThrow(/bad listen port/);
        expect(() => renderWkdNginxConf({ ...args, listen: { address: "[::1]; x", port: 80 } })).toThrow(/bad listen address/);
        expect(() => renderWkdNginxConf({ ...args, root: "/srv/x; y" })).toThrow(/bad root/);
    });
});
