/**
 * The Docker provider's system ssh checks the host key through a known_hosts file the program
 * writes from the config (`homemail:<host>.sshHostKey`), never the operator's ~/.ssh/known_hosts
 * (a preview would touch it too). The file sits in a directory of the running user's own, at a
 * fixed path, so the provider's ssh options are the same on every run.
 */
import { lstatSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { SshTarget } from "./config/model";
import { sha256 } from "./render/hostFile";
import { knownHostsLine, strictHostKeyOptions } from "./render/knownHosts";

const BASE_OPTIONS = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=30"];

/** Where the known_hosts files of this user live; refuses a directory someone else could change. */
function ownDirectory(): string {
    const uid = process.getuid?.() ?? 0;
    const dir = `/tmp/homemail-known-hosts-${uid}`;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
        throw new Error(`${dir} is not a private directory of uid ${uid} (owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)}): remove it and run again`);
    }
    return dir;
}

/** ssh options for the Docker provider: strict host-key checking against the configured key. */
export function dockerSshOptions(ssh: SshTarget): string[] {
    if (!ssh.hostKey) return BASE_OPTIONS;
    const line = knownHostsLine(ssh, ssh.hostKey);
    const file = path.join(ownDirectory(), sha256(line).slice(0, 24));
    writeFileSync(`${file}.tmp`, `${line}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
    return [...BASE_OPTIONS, ...strictHostKeyOptions(file)];
}
