/**
 * How Pulumi reaches each host over SSH. Host and user land in pulumi-command's connection and in
 * the Docker provider's `ssh://user@host:port` URL, which the system ssh parses: only a hostname
 * (one label is fine: LAN names such as `nas`), an IPv4 or a bracketed IPv6 literal, and a POSIX
 * user name, so nothing can be read as an ssh option (`-oProxyCommand=...`).
 */
import { DEFAULTS } from "../defaults";
import { parseSshHostKey } from "../hostKey";
import type { SecretRef, SshTarget } from "../model";
import { isBracketedIpv6, isHostnameOrLabel, isIpv4, POSIX_USER } from "../names";
import { PORT_TABLE } from "../ports";
import { Ctx, key } from "./context";

function sshHostOk(host: string): boolean {
    return isIpv4(host) || isBracketedIpv6(host) || isHostnameOrLabel(host);
}

/** Secrets travel on stdin to whoever answers at sshHost: the host key decides who that may be. */
function sshHostKey(ctx: Ctx, which: "vps" | "home", host: string, port: number, value: string | undefined): string | undefined {
    const scan = `pulumi config set --path homemail:${which}.sshHostKey "$(ssh-keyscan -t ed25519${port === 22 ? "" : ` -p ${port}`} ${host} | cut -d' ' -f2-)" (compare its fingerprint with ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the host's console)`;
    if (value === undefined) {
        if (!ctx.example) ctx.problems.add(key(which, ".sshHostKey"), "is required: the host's SSH public key, so that secrets go to that host only", scan);
        return undefined;
    }
    const parsed = parseSshHostKey(value);
    if (typeof parsed === "string") return parsed;
    ctx.problems.add(key(which, ".sshHostKey"), parsed.problem, scan);
    return undefined;
}

function target(ctx: Ctx, which: "vps" | "home", fallbackHost: string | undefined): SshTarget | undefined {
    const r = ctx.raw[which];
    if (!r) return undefined;
    const secretKey = which === "vps" ? "vpsSshPrivateKey" : "homeSshPrivateKey";
    const host = r.sshHost ?? fallbackHost;
    let ok = true;
    if (r.sshHost !== undefined && !sshHostOk(r.sshHost)) {
        ctx.problems.add(key(which, ".sshHost"), `${JSON.stringify(r.sshHost)} is not a hostname, an IPv4 address or a bracketed IPv6 address`, `e.g. pulumi config set --path homemail:${which}.sshHost ${which === "vps" ? "vps.example.net" : "192.168.1.10"}`);
        ok = false;
    }
    if (r.sshUser !== undefined && !POSIX_USER.test(r.sshUser)) {
        ctx.problems.add(key(which, ".sshUser"), `${JSON.stringify(r.sshUser)} is not a user name (lowercase letter or _, then up to 31 of a-z 0-9 _ -)`, `e.g. pulumi config set --path homemail:${which}.sshUser deploy`);
        ok = false;
    }
    if (!host) {
        ctx.problems.add(key("home", ".sshHost"), "is required: how Pulumi reaches the home server over SSH", "pulumi config set --path homemail:home.sshHost 192.168.1.10");
        return undefined;
    }
    const privateKey: SecretRef | undefined = ctx.raw[secretKey] !== undefined ? { configKey: key(secretKey) } : undefined;
    const port = r.sshPort ?? DEFAULTS.sshPort;
    const hostKey = sshHostKey(ctx, which, host, port, r.sshHostKey);
    return ok ? { host, port, user: r.sshUser ?? DEFAULTS.sshUser, privateKey, ...(hostKey ? { hostKey } : {}) } : undefined;
}

/** Both SSH targets; the VPS defaults to its public IP. SSH may not take a public port of the gateway. */
export function validateSsh(ctx: Ctx, vpsPublicIp: string | undefined): { vps?: SshTarget; home?: SshTarget } {
    const sshPort = ctx.raw.vps?.sshPort;
    if (sshPort !== undefined && PORT_TABLE.some((p) => p.publicPort === sshPort)) {
        ctx.problems.add(key("vps", ".sshPort"), `${sshPort} is a public mail/web port of the gateway`, "run SSH on another port (22 is fine)");
    }
    return { vps: target(ctx, "vps", vpsPublicIp), home: target(ctx, "home", undefined) };
}
