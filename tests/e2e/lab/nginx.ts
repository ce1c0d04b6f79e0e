/**
 * nginx as the lab runs it: one config of `server` blocks in its own directory (pid, logs, temp
 * paths there), checked by `nginx -t`, then started in the foreground as a logged lab process.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Place } from "../../lab/harness";
import { LoggedProcess, spawnLogged } from "./logged";

export function startLabNginx(place: Place, dir: string, servers: readonly string[]): LoggedProcess {
    mkdirSync(dir, { recursive: true });
    const conf = [
        `pid ${path.join(dir, "nginx.pid")};`,
        "error_log stderr notice;",
        "events { worker_connections 64; }",
        "http {",
        `    access_log ${path.join(dir, "access.log")};`,
        ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `    ${t}_temp_path ${path.join(dir, t)};`),
        ...servers,
        "}",
        "",
    ].join("\n");
    const file = path.join(dir, "nginx.conf");
    writeFileSync(file, conf);
    place.run(["nginx", "-t", "-q", "-c", file]);
    return spawnLogged(place, ["nginx", "-c", file, "-g", "daemon off;"], path.join(dir, "nginx.log"));
}
