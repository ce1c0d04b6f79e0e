/**
 * known_hosts lines for the hosts Pulumi reaches over SSH, from the host keys in the config: what
 * the Docker provider's system ssh checks (never the operator's ~/.ssh/known_hosts), and the exact
 * line a preflight tells the operator to compare.
 */

/** The host as known_hosts names it: `[host]:port` off port 22, a bare address on it (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"). */
export function knownHostsName(host: string, port: number): string {
    const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
    return port === 22 ? bare : `[${bare}]:${port}`;
}

/** One known_hosts line: the host's name and its key (`<type> <base64>`, as parseSshHostKey gives it). */
export function knownHostsLine(target: { readonly host: string; readonly port: number }, hostKey: string): string {
    return `${knownHostsName(target.host, target.port)} ${hostKey}`;
}

/** ssh options that trust exactly the given known_hosts file and nothing else (no prompt, no ~/.ssh). */
export function strictHostKeyOptions(knownHostsFile: string): string[] {
    return ["-o", `UserKnownHostsFile=${knownHostsFile}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "UpdateHostKeys=no"];
}
