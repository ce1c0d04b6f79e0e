/**
 * Runs a service of a rendered compose file the way Docker would, for the images whose program
 * Debian also ships (HAProxy, nginx): the service's bind mounts are made in the lab host's private
 * mount namespace, then the image's default command runs there. Only host-network services qualify
 * (the lab host's network is the host network).
 */
import { parse } from "yaml";
import { Background, Host } from "../../lab/harness";

/** What each image runs by default (its entrypoint and CMD), by repository. */
const IMAGE_COMMANDS: Readonly<Record<string, readonly string[]>> = {
    // docker-entrypoint.sh of the official image adds -W -db to `haproxy -f ...`.
    haproxy: ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"],
    nginx: ["nginx", "-g", "daemon off;"],
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
}

/** The services of a compose file. */
export function composeServices(composeYaml: string): Record<string, ComposeService> {
    return (parse(composeYaml) as { services?: Record<string, ComposeService> }).services ?? {};
}

/** Mounts the service's volumes in `host` and starts its image's command there. */
export function runComposeService(host: Host, composeYaml: string, name: string): Background {
    const service = composeServices(composeYaml)[name];
    if (!service) throw new Error(`the rendered compose file has no service ${name}`);
    if (service.network_mode !== "host") throw new Error(`compose service ${name}: the lab runs host-network services only`);
    const repository = service.image.split(/[:@]/)[0].split("/").pop()!;
    const command = IMAGE_COMMANDS[repository];
    if (!command) throw new Error(`compose service ${name}: no known default command for image ${repository}`);
    if (service.command) throw new Error(`compose service ${name}: its own command is not supported by the lab`);
    for (const v of service.volumes ?? []) {
        if (typeof v === "string" || v.type !== "bind") throw new Error(`compose service ${name}: only long-syntax bind volumes are supported, got ${JSON.stringify(v)}`);
        host.run(["mkdir", "-p", v.target]);
        host.run(["mount", "--bind", v.source, v.target]);
        if (v.read_only) host.run(["mount", "-o", "remount,bind,ro", v.target]);
    }
    return host.spawn(command);
}
