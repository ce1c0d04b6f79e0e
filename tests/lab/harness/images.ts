/**
 * The lab's images, built without a network from Debian packages installed on the machine, and put
 * in the lab registry (root only).
 *
 * - {@link busyboxStandIn}: `FROM scratch` + Debian's busybox-static (seconds), for quick tests.
 *   Tagged with busybox-static's real upstream version (`busybox:1.35.0` on bookworm).
 * - {@link baseImage}: a debootstrap minbase of bookworm plus `images/base-packages.txt`, built by
 *   `images/build-base.sh` into ~/.cache/homemail-lab/ once per package list (~50 s cold; CI builds it
 *   before the tests), imported as `homemail-lab/base:bookworm-<cache key>`.
 * - {@link pushToRegistry}: tags and pushes an image under a Docker Hub name (`library/...`) or any
 *   repository path, then removes the local tags, so the next pull by that name must come from the
 *   registry.
 */
import { cpSync, existsSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { run } from "./index";
import { DOCKER_CLI, DockerEngine, ENGINE_SOCKET, LabRegistry } from "./dockerHost";

const BUILD_BASE = path.join(__dirname, "images", "build-base.sh");

/** Upstream version of an installed Debian package (`1:1.35.0-4+deb12u1` -> `1.35.0`). */
export function upstreamVersion(pkg: string): string {
    const v = run(["dpkg-query", "-W", "-f", "${Version}", pkg]).stdout.trim();
    return v.replace(/^\d+:/, "").replace(/-[^-]*$/, "");
}

/** Imports the busybox-static stand-in into `engine`; returns its local name (`busybox:<version>`). */
export function busyboxStandIn(engine: DockerEngine): string {
    const name = `busybox:${upstreamVersion("busybox-static")}`;
    const stage = path.join(engine.host.root, "busybox-image");
    if (!existsSync(path.join(stage, "bin", "busybox"))) {
        mkdirSync(path.join(stage, "bin"), { recursive: true });
        cpSync("/bin/busybox", path.join(stage, "bin", "busybox"));
        // In a chroot, so the applet links point at /bin/busybox inside the image.
        run(["chroot", stage, "/bin/busybox", "--install", "-s", "/bin"]);
    }
    engine.host.sh(`set -o pipefail; tar --numeric-owner -C '${stage}' -c . | ${dockerCmd()} import --change 'CMD ["/bin/sh"]' - '${name}' >/dev/null`, { timeoutMs: 60_000 });
    return name;
}

/** Builds (or finds in the cache) the debootstrap base; returns the tarball's path. */
export function baseTarball(): string {
    const r = run(["bash", BUILD_BASE], { timeoutMs: 15 * 60_000 });
    return r.stdout.trim().split("\n").pop() as string;
}

/** Imports the debootstrap base into `engine`; returns its local name. */
export function baseImage(engine: DockerEngine): string {
    const tar = baseTarball();
    const key = /base-bookworm-([0-9a-f]+)\.tar$/.exec(tar)?.[1] ?? "unknown";
    const name = `homemail-lab/base:bookworm-${key}`;
    engine.host.sh(`${dockerCmd()} import --change 'CMD ["/bin/bash"]' '${tar}' '${name}' >/dev/null`, { timeoutMs: 120_000 });
    return name;
}

/**
 * Pushes local image `image` to the registry as `repository:tag` (a Docker Hub name such as
 * `library/traefik:v3.7.16`, or `mailu/admin:2024.06`), then drops the local tags. Returns the
 * pushed manifest digest (`sha256:...`).
 */
export function pushToRegistry(engine: DockerEngine, registry: LabRegistry, image: string, repositoryTag: string): string {
    const remote = `${registry.hostPort}/${repositoryTag}`;
    engine.docker(["tag", image, remote]);
    const out = engine.docker(["push", remote], { timeoutMs: 300_000 }).stdout;
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1];
    if (!digest) throw new Error(`push ${remote}: no digest in:\n${out}`);
    engine.docker(["rmi", remote, image]);
    return digest;
}

/** `docker -H <the engine's socket>` as shell words, for pipelines on the host. */
function dockerCmd(): string {
    return `${DOCKER_CLI} -H unix://${ENGINE_SOCKET}`;
}
