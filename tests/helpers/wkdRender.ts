/**
 * Render outputs of the real program for the WKD tool tests: the dev stack through `npm run render`
 * itself, and variants of it (the dev stack with some keys changed) through the same mock engine and
 * out-tree writer in-process. Never hand-written copies.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import type { ConfigChange } from "./stack";
import { REPO_ROOT, stackInput, withConfig } from "./stack";
import { runDevProgram } from "./program";

/** `npm run render -- --out <outDir>` for the dev stack; returns `<outDir>/dev`. */
export function renderDevStack(outDir: string): string {
    const r = spawnSync(path.join(REPO_ROOT, "node_modules/.bin/tsx"), [path.join(REPO_ROOT, "scripts/render.ts"), "--out", outDir], {
        cwd: REPO_ROOT,
        encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`npm run render failed (${r.status}): ${r.stderr}`);
    return path.join(outDir, "dev");
}

/** The dev stack with `changes`, rendered by the real program into `<outDir>/<name>`; returns that directory. */
export async function renderVariant(outDir: string, name: string, changes: readonly ConfigChange[]): Promise<string> {
    const input = withConfig(changes, stackInput());
    const run = await runDevProgram(input);
    const zones = JSON.parse(input.values["homemail:cloudflareZones"]) as Record<string, string>;
    const { writeOutTree } = await import("../../scripts/lib/writeOut");
    return writeOutTree(outDir, name, run, Object.fromEntries(Object.entries(zones).map(([n, id]) => [id, n])), false);
}

/** Where the VPS's WKD site lives inside a render output. */
export function wkdDirIn(renderRoot: string): string {
    return path.join(renderRoot, "hosts", "vps", "opt", "homemail", "gateway", "wkd");
}

/** A stand-in for the nginx image's /etc/nginx/nginx.conf, with every writable path in `prefix`. */
export function nginxMainConfig(prefix: string, confDir: string): string {
    for (const d of ["tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"]) mkdirSync(path.join(prefix, d), { recursive: true });
    return [
        "worker_processes 1;",
        `pid ${prefix}/nginx.pid;`,
        `error_log ${prefix}/error.log notice;`,
        "events { worker_connections 64; }",
        "http {",
        "    include /etc/nginx/mime.types;",
        "    default_type application/octet-stream;",
        `    access_log ${prefix}/access.log;`,
        `    client_body_temp_path ${prefix}/tmp/body;`,
        `    proxy_temp_path ${prefix}/tmp/proxy;`,
        `    fastcgi_temp_path ${prefix}/tmp/fastcgi;`,
        `    uwsgi_temp_path ${prefix}/tmp/uwsgi;`,
        `    scgi_temp_path ${prefix}/tmp/scgi;`,
        "    sendfile on;",
        "    keepalive_timeout 65;",
        // The image includes /etc/nginx/conf.d/*.conf; the rendered wkd directory is mounted there.
        `    include ${confDir}/*.conf;`,
        "}",
        "",
    ].join("\n");
}
