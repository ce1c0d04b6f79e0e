/**
 * Runs a service of a rendered compose file the way Docker would, for the images whose program
 * Debian also ships (HAProxy, nginx): the image's own files that the service relies on are put in
 * place, the service's bind mounts are made in the lab host's private mount namespace, then the
 * image's default command runs there. Only host-network services qualify (the lab host's network
 * is the host network).
 */
import { parse } from "yaml";
import { Host } from "../../lab/harness";
import { LoggedProcess, spawnLogged } from "./logged";

/** What each image runs by default (its entrypoint and CMD), by repository. */
const IMAGE_COMMANDS: Readonly<Record<string, readonly string[]>> = {
    // docker-entrypoint.sh of the official image adds -W -db to `haproxy -f ...`.
    haproxy: ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"],
    nginx: ["nginx", "-g", "daemon off;"],
};

/** Files of an image that rendered files rely on (not rendered: they come with the image). */
const IMAGE_FILES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
    // The official nginx image's main config, which includes the rendered server blocks; Debian
    // names the worker user www-data where the image has nginx; logs go to the container's output.
    nginx: {
        "/etc/nginx/nginx.conf": [
            "user www-data;",
            "worker_processes auto;",
            "error_log stderr notice;",
            "pid /run/nginx.pid;",
            "events { worker_connections 1024; }",
            "http {",
            "    include /etc/nginx/mime.types;",
            "    default_type application/octet-stream;",
            "    access_log /dev/stdout;",
            "    sendfile on;",
            "    keepalive_timeout 65;",
            "    include /etc/nginx/conf.d/*.conf;",
            "}",
            "",
        ].join("\n"),
    },
};

interface ComposeVolume {
    readonly type: string;
    readonly source: string;
    readonly target: string;
    readonly read_only?: boolean;
}

export interface ComposeService {
    readonly image: string;
    readonly network_mode?: string;
    readonly command?: readonly string[];
    readonly volumes?: readonly (ComposeVolume | string)[];
    readonly ports?: readonly string[];
    readonly healthcheck?: unknown;
}

/** The services of a compose file. */
export function composeServices(composeYaml: string): Record<string, ComposeService> {
    return (parse(composeYaml) as { services?: Record<string, ComposeService> }).services ?? {};
}

/** The command line the lab runs for a compose service (its image's default command), as `ps` shows it. */
export function composeServiceCommandLine(composeYaml: string, name: string): string {
    const service = composeServices(composeYaml)[name];
    const command = service && IMAGE_COMMANDS[service.image.split(/[:@]/)[0].split("/").pop()!];
    if (!command) throw new Error(`compose service ${name}: no known default command for its image`);
    return command.join(" ");
}

/** Mounts the service's volumes in `host` and starts its image's command there, its output going to `logFile`. */
export function runComposeService(host: Host, composeYaml: string, name: string, logFile: string): LoggedProcess {
    const service = composeServices(composeYaml)[name];
    if (!service) throw new Error(`the rendered compose file has no service ${name}`);
    if (service.network_mode !== "host") throw new Error(`compose service ${name}: the lab runs host-network services only`);
    const repository = service.image.split(/[:@]/)[0].split("/").pop()!;
    const command = IMAGE_COMMANDS[repository];
    if (!command) throw new Error(`compose service ${name}: no known default command for image ${repository}`);
    if (service.command) throw new Error(`compose service ${name}: its own command is not supported by the lab`);
    for (const [file, content] of Object.entries(IMAGE_FILES[repository] ?? {})) host.install(file, content);
    for (const v of service.volumes ?? []) {
        if (typeof v === "string" || v.type !== "bind") throw new Error(`compose service ${name}: only long-syntax bind volumes are supported, got ${JSON.stringify(v)}`);
        host.run(["mkdir", "-p", v.target]);
        host.run(["mount", "--bind", v.source, v.target]);
        if (v.read_only) host.run(["mount", "-o", "remount,bind,ro", v.target]);
    }
    return spawnLogged(host, command, logFile);
}
