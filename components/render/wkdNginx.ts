/**
 * The nginx server-block file of the WKD/MTA-STS site. It is not a main config: the pinned nginx
 * image's own `/etc/nginx/nginx.conf` includes it (`http { include /etc/nginx/conf.d/*.conf; }`),
 * from the directory mounted at `/etc/nginx/conf.d`.
 *
 * What it serves, nothing else (every other host, path and directory is a 404):
 * - `openpgpkey.<domain>`: `/.well-known/openpgpkey/<domain>/...` of that domain only, as
 *   `application/octet-stream` with `Access-Control-Allow-Origin: *` (WKD advanced method).
 * - `mta-sts.<domain>`: `/.well-known/mta-sts.txt` as `text/plain` (RFC 8461, section 3.2).
 *
 * Only directives that nginx 1.22 (Debian, the checker here) and 1.29 (the image) both accept.
 * Pure: no I/O, no clock.
 */

/** One mail domain's hosts. */
export interface WkdNginxDomain {
    /** The mail domain, lowercase: `example.com`. */
    readonly name: string;
    /** `openpgpkey.<domain>` */
    readonly openpgpkeyHost: string;
    /** `mta-sts.<domain>` */
    readonly mtaStsHost: string;
}

export interface WkdNginxArgs {
    readonly domains: readonly WkdNginxDomain[];
    /**
     * Where nginx listens: the VPS loopback (`homemail`'s `wkdListen`, e.g. 127.0.0.1:8088). The
     * container uses the host network, so this is the address Traefik connects to.
     */
    readonly listen: { readonly address: string; readonly port: number };
    /** Document root as the container sees it (the public tree inside the mounted conf.d directory). */
    readonly root: string;
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Refuses anything that is not a plain lowercase hostname: it is spliced into nginx syntax. */
function host(h: string): string {
    if (!HOSTNAME.test(h)) throw new Error(`renderWkdNginxConf: ${JSON.stringify(h)} is not a lowercase hostname`);
    return h;
}

/**
 * A server block that serves one location (static files, GET/HEAD only, one content type whatever
 * the file name) and answers 404 for everything else.
 */
function staticServer(o: {
    comment: string;
    names: readonly string[];
    listen: string;
    root: string;
    location: string;
    contentType: string;
    headers?: readonly string[];
}): string[] {
    return [
        "",
        `# ${o.comment}`,
        "server {",
        `    listen ${o.listen};`,
        `    server_name ${o.names.map(host).join(" ")};`,
        "    server_tokens off;",
        `    root ${o.root};`,
        "    autoindex off;",
        "",
        `    location ${o.location} {`,
        "        limit_except GET { deny all; }",
        "        types { }",
        `        default_type ${o.contentType};`,
        ...(o.headers ?? []).map((h) => `        add_header ${h} always;`),
        "        try_files $uri =404;",
        "    }",
        "",
        "    location / {",
        "        return 404;",
        "    }",
        "}",
    ];
}

export function renderWkdNginxConf(args: WkdNginxArgs): string {
    const { root } = args;
    const { address, port } = args.listen;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`renderWkdNginxConf: bad listen port ${port}`);
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) throw new Error(`renderWkdNginxConf: bad listen address ${JSON.stringify(address)}`);
    const listen = `${address}:${port}`;
    if (!/^\/[A-Za-z0-9._/-]*$/.test(root)) throw new Error(`renderWkdNginxConf: bad root ${JSON.stringify(root)}`);
    const domains = [...args.domains].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const out: string[] = [
        "# managed by homemail, do not edit",
        "# WKD (advanced method) and MTA-STS policy site. Included by the nginx image's main config",
        "# (http { include /etc/nginx/conf.d/*.conf; }). Host network, loopback only: Traefik, which",
        "# terminates TLS in front of it, is its only client.",
        "",
        "# Any other Host header: nothing here.",
        "server {",
        `    listen ${listen} default_server;`,
        "    server_name _;",
        "    server_tokens off;",
        "    return 404;",
        "}",
    ];
    for (const d of domains) {
        const name = host(d.name);
        out.push(
            ...staticServer({
                comment: `WKD for ${name}: /.well-known/openpgpkey/${name}/hu/<z-base-32 SHA-1 of the local part>?l=<local part>`,
                names: [d.openpgpkeyHost],
                listen,
                root,
                location: `/.well-known/openpgpkey/${name}/`,
                contentType: "application/octet-stream",
                headers: ['Access-Control-Allow-Origin "*"'],
            }),
        );
    }
    if (domains.length > 0) {
        out.push(
            ...staticServer({
                comment: "MTA-STS policy (RFC 8461), one file for every mail domain.",
                names: domains.map((d) => d.mtaStsHost),
                listen,
                root,
                location: "= /.well-known/mta-sts.txt",
                contentType: "text/plain",
            }),
        );
    }
    return out.join("\n") + "\n";
}
