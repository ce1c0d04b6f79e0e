/**
 * The WKD/MTA-STS site as a host plan: (SSH answers) -> prepare (directories, prune) -> every file
 * (the server block validated by the image's `nginx -t`) -> reload nginx if its config changed.
 * Pure.
 */
import { sha256, shellQuote } from "./hostFile";
import { HostPlan, HostStep, PlannedFile, pathSlug, sshWaitStep } from "./hostPlan";
import { WKD_CONF, WKD_DIR, WkdSiteModel, WkdSiteRender, renderWkdSite } from "./wkdSite";

/** The role of the step the site runs after when it does not wait for SSH itself. */
export const WKD_SSH_ROLE = "ssh";

/**
 * `ownSshWait`: the plan starts with its own SSH wait step; otherwise the executor is given the
 * role {@link WKD_SSH_ROLE} as an outside resource.
 */
/** Outside roles of the gateway the config check waits for: its preflight (Docker) and its nginx pull. */
export const WKD_GATEWAY_ROLES = { preflight: "gateway-preflight", nginxPull: "gateway-image-nginx" } as const;

/** The role of the server block's file, checked by `nginx -t` of the pinned image. */
export const WKD_CONF_ROLE = `file-${pathSlug(WKD_CONF.slice(WKD_DIR.length + 1))}`;

/**
 * `gatewayImage`: the nginx image the gateway pulled (pinned by digest); the server block's check
 * runs it, after the gateway's preflight and pull ({@link WKD_GATEWAY_ROLES}, outside resources).
 * Without it (a site alone) the check runs the tag and waits for nothing outside.
 */
export function planWkdSite(model: WkdSiteModel, ownSshWait: boolean, gatewayImage?: string): { plan: HostPlan; site: WkdSiteRender } {
    const site = renderWkdSite(model, gatewayImage);
    const gatewayAfter = gatewayImage !== undefined ? [WKD_GATEWAY_ROLES.preflight, WKD_GATEWAY_ROLES.nginxPull] : [];
    const files = site.files.map((file): PlannedFile => {
        const role = `file-${pathSlug(file.path.slice(WKD_DIR.length + 1))}`;
        return { role, file, after: ["prepare", ...(role === WKD_CONF_ROLE ? gatewayAfter : [])], undo: { kind: "remove-file" } };
    });
    const conf = site.files.find((f) => f.path === WKD_CONF)!;
    // Deepest first, so each directory is empty by the time its turn comes; shared ones stay.
    const removeDirs = `rmdir --ignore-fail-on-non-empty -- ${[...site.directories].reverse().map(shellQuote).join(" ")} 2>/dev/null || true`;
    const steps: HostStep[] = [
        ...(ownSshWait ? [sshWaitStep(WKD_SSH_ROLE)] : []),
        {
            // In place: re-running it prunes what is no longer published; its undo removes the
            // directories (their files go first, each with its own undo).
            role: "prepare",
            command: site.prepareScript,
            rerunOn: [sha256(site.prepareScript)],
            after: [WKD_SSH_ROLE],
            strategy: "in-place",
            undo: { kind: "remove-file", command: removeDirs },
        },
        {
            role: "reload",
            command: site.reloadScript,
            rerunOn: [sha256(conf.content)],
            after: files.map((f) => f.role!),
            strategy: "replace",
            undo: { kind: "nothing-to-undo", reason: "reloads a running nginx; gateway-up's undo stops it" },
        },
    ];
    return { plan: { host: "vps", files, steps }, site };
}
