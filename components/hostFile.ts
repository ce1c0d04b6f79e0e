/**
 * Pulumi side of host files: SSH connections and one remote command per file. The command string is
 * the fixed install step from render/hostFile.ts; the content travels on stdin; the trigger is the
 * content hash, so a file is re-sent exactly when its bytes change and a second `pulumi up` runs
 * nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { SshTarget } from "./config/model";
import { secretValue } from "./config/load";
import { HostFile, fillTemplate, installFileCommand, sha256, SecretTemplate, templateSecrets } from "./render/hostFile";

/** SSH connection args for a host; the private key (if any) stays a secret, else the ssh-agent is used. */
export function sshConnection(ssh: SshTarget, opts: { waitForever?: boolean } = {}): command.types.input.remote.ConnectionArgs {
    return {
        host: ssh.host,
        port: ssh.port,
        user: ssh.user,
        ...(ssh.privateKey ? { privateKey: secretValue(ssh.privateKey) } : {}),
        // Checked on every connection (golang.org/x/crypto/ssh FixedHostKey): secrets go on stdin.
        ...(ssh.hostKey ? { hostKey: ssh.hostKey } : {}),
        // -1 retries until the host answers: used once per host so a fresh VPS can finish booting.
        ...(opts.waitForever ? { dialErrorLimit: -1 } : {}),
    };
}

/** The first step on a host: wait until SSH answers. Everything else on that host depends on it. */
export function waitForSsh(name: string, ssh: SshTarget, parent: pulumi.Resource): command.remote.Command {
    return new command.remote.Command(
        name,
        { connection: sshConnection(ssh, { waitForever: true }), create: "true" },
        { parent },
    );
}

/** A resource-name-safe slug of a host path: `/etc/wireguard/wg0.conf` -> `etc-wireguard-wg0.conf`. */
export function pathSlug(path: string): string {
    return path.replace(/^\/+/, "").replace(/[^A-Za-z0-9._-]+/g, "-");
}

export interface PushFileOptions {
    readonly parent: pulumi.Resource;
    readonly ssh: SshTarget;
    /** Values for the file's secret slots ({@link HostFile.secretTemplate}), by secret name. */
    readonly secrets?: Readonly<Record<string, pulumi.Input<string>>>;
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Installs one host file. Secret content is filled in inside an apply and stays a secret Output all
 * the way to stdin; the command string never contains content.
 */
export function pushHostFile(name: string, file: HostFile | pulumi.Output<HostFile>, opts: PushFileOptions): command.remote.Command {
    if (pulumi.Output.isInstance(file)) return pushComputedHostFile(name, file, opts);
    const content: pulumi.Output<string> = file.secretTemplate
        ? fillSecretTemplate(name, file.secretTemplate, opts.secrets ?? {})
        : pulumi.output(file.secret ? pulumi.secret(file.content) : file.content);
    return new command.remote.Command(
        name,
        {
            connection: sshConnection(opts.ssh),
            create: installFileCommand(file, opts.ssh.user),
            stdin: content,
            triggers: [content.apply((c) => sha256(c))],
        },
        { parent: opts.parent, dependsOn: opts.dependsOn },
    );
}

/**
 * A template filled at its slots only, as a secret Output. `escape` adapts each value to the syntax
 * around its slot (a YAML quoted scalar, say); default: as is.
 */
export function fillSecretTemplate(
    name: string,
    template: SecretTemplate,
    secrets: Readonly<Record<string, pulumi.Input<string>>>,
    escape?: (value: string) => string,
): pulumi.Output<string> {
    const names = templateSecrets(template);
    const values = names.map((n) => {
        const v = secrets[n];
        if (v === undefined) throw new Error(`${name}: no value given for secret placeholder ${n}`);
        return v;
    });
    return pulumi.secret(pulumi.all(values).apply((vs) => fillTemplate(template, Object.fromEntries(names.map((n, i) => [n, vs[i]])), escape)));
}

/**
 * A host file whose content is computed from other resources' outputs (a peer's public key): the
 * same install step, with the command string and content resolved inside the Output. Such files
 * carry no secrets (a secret computed file would need the placeholder path above).
 */
function pushComputedHostFile(name: string, file: pulumi.Output<HostFile>, opts: PushFileOptions): command.remote.Command {
    const checked = file.apply((f) => {
        if (f.secret || f.secretTemplate) throw new Error(`${name}: a computed host file cannot carry secrets`);
        return f;
    });
    return new command.remote.Command(
        name,
        {
            connection: sshConnection(opts.ssh),
            create: checked.apply((f) => installFileCommand(f, opts.ssh.user)),
            stdin: checked.apply((f) => f.content),
            triggers: [checked.apply((f) => sha256(f.content))],
        },
        { parent: opts.parent, dependsOn: opts.dependsOn },
    );
}
