/**
 * Mailu 2024.06 at home, as pure data: the compose project, mailu.env and its secret companion, the
 * config-import YAML (domains, users, aliases, DKIM keys), the list of accounts homemail manages, the
 * sysctl that lets the front bind the WireGuard address, and the fixed host commands.
 *
 * Everything Mailu must agree on with the gateway comes from the model: PORTS and PROXY_PROTOCOL from
 * the port table, REAL_IP_FROM from the addresses the gateway connects from, SUBNET and the resolver
 * from the address plan. Secret values never enter here: secret files and the import YAML carry
 * `secretPlaceholder` tokens that the component fills right before sending them through stdin.
 *
 * Facts about Mailu 2024.06 used below (Mailu/Mailu sources):
 * - core/nginx/config.py: `PROXY_PROTOCOL` and `PORTS` are split on "," with no trimming; an item is a
 *   port when `item.isdigit()`, or one of the aliases `mail`, `all-but-http`, `all`.
 * - core/base/libs/socrate/socrate/system.py `_coerce_value` and core/admin/mailu/configuration.py:
 *   "true"/"yes" are True and "false"/"no" are False (case-insensitive); anything else stays a string.
 * - core/admin/start.py drops privileges to `mailu` (uid 1000) *before* reading the secret key, so a
 *   root-only 0600 file behind SECRET_KEY_FILE cannot be read by the admin container; the key goes in
 *   a root-only env file that Compose (running as root) reads instead. See {@link renderMailuSecretsEnv}.
 * - core/admin/mailu/manage.py `config-import`: `-n/--dry-run`, `-u/--update` (merge; without it the
 *   import *replaces* the whole config), reads YAML from stdin (`-`).
 * - core/admin/mailu/schemas.py: a plain `password` needs `hash_password: true` (else it must be a
 *   hash); in update mode an unchanged plain password keeps the stored hash; list items starting with
 *   "-" mean "remove"; `dkim_key` accepts a PEM string and re-wraps it.
 */
import { Document, isScalar, isSeq, stringify, visit } from "yaml";
import type { Model } from "../config/model";
import { pinnedImage } from "./gatewayLayout";
import { fillTemplate, HostFile, SecretTemplate, secretHostFile, secretSlot, sha256, templateText } from "./hostFile";

/** The slice of the model this renderer reads. */
export type MailuModel = Pick<
    Model,
    "mailHost" | "passthroughHosts" | "domains" | "mainDomains" | "adminAddress" | "addresses" | "ports" | "mailu" | "images" | "dkim" | "dmarc" | "users" | "aliases"
>;

export const HEADER = "managed by homemail, do not edit";

/** The compose project directory on the home server (ARCHITECTURE.md, "Files on the hosts"). */
export const MAILU_DIR = "/opt/homemail/mailu";
export const MAILU_COMPOSE_PATH = `${MAILU_DIR}/compose.yaml`;
export const MAILU_ENV_PATH = `${MAILU_DIR}/mailu.env`;
/** SECRET_KEY (and API_TOKEN when the API is on), 0600 root: see {@link renderMailuSecretsEnv}. */
export const MAILU_SECRETS_ENV_PATH = `${MAILU_DIR}/secrets/mailu-secrets.env`;
/** The users and aliases the stack declares; `homemail-mailu reconcile` compares Mailu with it. */
export const MAILU_ACCOUNTS_PATH = `${MAILU_DIR}/accounts.list`;
/** The host script (assets/mailu/homemail-mailu.sh): preflight, up, import, reconcile. */
export const MAILU_SCRIPT_PATH = "/usr/local/sbin/homemail-mailu";
/** Lets Docker bind the WireGuard address before wg0 carries it (see {@link renderNonlocalBind}). */
export const NONLOCAL_BIND_SYSCTL_PATH = "/etc/sysctl.d/60-homemail-mailu.conf";

/** Compose project name (also the setup utility's COMPOSE_PROJECT_NAME). */
export const COMPOSE_PROJECT = "mailu";
/** Placeholder names of the secret env file. */
export const SECRET_KEY_PLACEHOLDER = "mailu.secret_key";
export const API_TOKEN_PLACEHOLDER = "mailu.api_token";

/** The fixed command strings run on the home server (no content, no secret, ever). */
export const MAILU_COMMANDS = Object.freeze({
    preflight: `${MAILU_SCRIPT_PATH} preflight`,
    applySysctl: `sysctl -p ${NONLOCAL_BIND_SYSCTL_PATH}`,
    /** Puts ip_nonlocal_bind back to what the host's own sysctl files say (0 when none sets it). */
    restoreSysctl: `${MAILU_SCRIPT_PATH} nonlocal-bind-restore`,
    up: `${MAILU_SCRIPT_PATH} up`,
    /** Stops the project (data stays under dataRoot). */
    down: `${MAILU_SCRIPT_PATH} down`,
    /** The import YAML arrives on stdin: dry run first, then `--update` (merge). */
    import: `${MAILU_SCRIPT_PATH} import`,
    reconcile: (prune: boolean) => `${MAILU_SCRIPT_PATH} reconcile${prune ? " --prune" : ""}`,
});

// ---------------------------------------------------------------------------------------------------
// images

/** A service of the Mailu compose project and the image it runs (tag only; the digest comes at deploy). */
export interface MailuImage {
    readonly service: string;
    /** `registry/name:tag`, e.g. `ghcr.io/mailu/nginx:2024.06.61`. */
    readonly ref: string;
    /** The ref's repository and tag (`ghcr.io/mailu/nginx`, `2024.06.61`). */
    readonly repository: string;
    readonly tag: string;
}

/** Every service of the project for this model, in a fixed order, with its image. */
export function mailuImages(model: MailuModel): MailuImage[] {
    const mailu = (name: string) => `${model.images.mailuRegistry}/${name}:${model.mailu.version}`;
    const m = model.mailu;
    const refs: { service: string; ref: string }[] = [
        { service: "redis", ref: model.images.mailuRedis },
        { service: "front", ref: mailu("nginx") },
        { service: "resolver", ref: mailu("unbound") },
        { service: "admin", ref: mailu("admin") },
        { service: "imap", ref: mailu("dovecot") },
        { service: "smtp", ref: mailu("postfix") },
        { service: "antispam", ref: mailu("rspamd") },
        ...(m.antivirus ? [{ service: "antivirus", ref: model.images.mailuAntivirus }] : []),
        ...(m.webdav ? [{ service: "webdav", ref: mailu("radicale") }] : []),
        ...(m.fetchmail ? [{ service: "fetchmail", ref: mailu("fetchmail") }] : []),
        ...(m.webmail !== "none" ? [{ service: "webmail", ref: mailu("webmail") }] : []),
    ];
    return refs.map(({ service, ref }) => {
        const colon = ref.lastIndexOf(":");
        return { service, ref, repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
    });
}

/**
 * Each service's image as it runs, `ref@sha256:…`, from the digests Docker reported after pulling
 * (`repoDigests`: image ref -> `RemoteImage.repoDigest`, `repo@sha256:…` or a bare `sha256:…`).
 */
export function pinnedMailuImages(model: MailuModel, repoDigests: Readonly<Record<string, string>>): Record<string, string> {
    return Object.fromEntries(
        mailuImages(model).map(({ service, ref, repository, tag }) => {
            const reported = repoDigests[ref];
            if (!reported) throw new Error(`mailu: no sha256 digest for image ${ref}`);
            return [service, pinnedImage(repository, tag, reported)];
        }),
    );
}

// ---------------------------------------------------------------------------------------------------
// mailu.env

type EnvEntry = readonly [key: string, value: string];
type EnvSection = { readonly title: string; readonly entries: readonly EnvEntry[] };

const bool = (b: boolean) => (b ? "true" : "false");
/** Mailu reads lists as "a,b,c" and does not trim: no spaces. */
const list = (items: readonly (string | number)[]) => items.join(",");

function webrootRedirect(model: MailuModel): string {
    // Must point at an enabled service (Mailu docs, WEBROOT_REDIRECT); the admin UI is always on.
    return model.mailu.webmail === "none" ? "/admin" : "/webmail";
}

/** DMARC_RUA is a local part of DOMAIN in Mailu's own DNS hints; empty when the reports go elsewhere. */
function dmarcRua(model: MailuModel): string {
    const primary = model.domains.find((d) => d.kind === "primary")?.name;
    const at = model.dmarc.reportAddress.lastIndexOf("@");
    return model.dmarc.reportAddress.slice(at + 1) === primary ? model.dmarc.reportAddress.slice(0, at) : "";
}

function envSections(model: MailuModel): EnvSection[] {
    const m = model.mailu;
    const primary = model.domains.find((d) => d.kind === "primary");
    if (!primary) throw new Error("mailu: the model has no primary domain");
    const rows = [...model.ports].sort((a, b) => a.homePort - b.homePort);
    return [
        {
            title: "Common configuration",
            entries: [
                ["SUBNET", model.addresses.mailuSubnet],
                ["DOMAIN", primary.name],
                ["HOSTNAMES", list(model.passthroughHosts)],
                ["POSTMASTER", "postmaster"],
                // Certificates come from Let's Encrypt http-01; the gateway routes port 80 here.
                ["TLS_FLAVOR", "letsencrypt"],
                ["AUTH_RATELIMIT_IP", "5/hour"],
                ["AUTH_RATELIMIT_USER", "50/day"],
                // Privacy first: no statistics ping.
                ["DISABLE_STATISTICS", bool(true)],
            ],
        },
        {
            title: "Optional features",
            entries: [
                ["ADMIN", bool(true)],
                ["WEBMAIL", m.webmail],
                ["API", bool(m.api)],
                ["WEBDAV", m.webdav ? "radicale" : "none"],
                ["ANTIVIRUS", m.antivirus ? "clamav" : "none"],
                ["SCAN_MACROS", bool(false)],
            ],
        },
        {
            title: "Mail settings",
            entries: [
                ["MESSAGE_SIZE_LIMIT", String(m.messageSizeLimit)],
                ["MESSAGE_RATELIMIT", "200/day"],
                // Never the Docker or WireGuard network: relaying for them would make an open relay.
                ["RELAYNETS", ""],
                ["RELAYHOST", ""],
                ["FETCHMAIL_ENABLED", bool(m.fetchmail)],
                ["FETCHMAIL_DELAY", "600"],
                ["RECIPIENT_DELIMITER", "+"],
                ["DMARC_RUA", dmarcRua(model)],
                // No forensic reports: they carry message content.
                ["DMARC_RUF", ""],
                ["WELCOME", bool(false)],
                ["WELCOME_SUBJECT", "Welcome to your new email account"],
                ["WELCOME_BODY", "Welcome to your new email account, if you can read this, then it is configured properly!"],
                ["COMPRESSION", ""],
                ["COMPRESSION_LEVEL", ""],
                ["DKIM_SELECTOR", model.dkim.selector],
            ],
        },
        {
            title: "Web settings",
            entries: [
                ["WEBROOT_REDIRECT", webrootRedirect(model)],
                ["WEB_ADMIN", "/admin"],
                ["WEB_WEBMAIL", "/webmail"],
                ["WEB_API", "/api"],
                ["SITENAME", primary.name],
                ["WEBSITE", `https://${model.mailHost}`],
            ],
        },
        {
            title: "Behind the gateway: ports, PROXY protocol v2, trusted proxies (from the port table)",
            entries: [
                ["PORTS", list(rows.map((r) => r.homePort))],
                ["PROXY_PROTOCOL", list(rows.filter((r) => r.proxyV2).map((r) => r.homePort))],
                // Empty: a header (X-Forwarded-For) would be trusted on TLS-passthrough ports too, where
                // the client writes it; the PROXY v2 header is what carries the real address.
                ["REAL_IP_HEADER", ""],
                ["REAL_IP_FROM", list(model.addresses.gatewaySourceAddresses)],
            ],
        },
        {
            title: "Advanced settings",
            entries: [
                ["COMPOSE_PROJECT_NAME", COMPOSE_PROJECT],
                ["CREDENTIAL_ROUNDS", "12"],
                ["REJECT_UNLISTED_RECIPIENT", ""],
                ["LOG_LEVEL", "WARNING"],
                ["TZ", "Etc/UTC"],
                ["DEFAULT_SPAM_THRESHOLD", "80"],
                ["AUTH_REQUIRE_TOKENS", bool(m.authRequireTokens)],
                // The setup utility writes an empty API_TOKEN when the API is off; when it is on, the
                // token is in the secret env file.
                ...(m.api ? [] : [["API_TOKEN", ""] as const]),
            ],
        },
    ];
}

/**
 * `mailu.env`: every variable Mailu's setup utility writes (a partial env makes the front crash), plus
 * PORTS, PROXY_PROTOCOL, DKIM_SELECTOR and AUTH_REQUIRE_TOKENS. No secret: see
 * {@link renderMailuSecretsEnv}.
 */
export function renderMailuEnv(model: MailuModel): HostFile {
    const lines = [
        `# ${HEADER}`,
        `# Mailu ${model.mailu.version} settings for ${model.mailHost}, derived from the stack config.`,
        `# SECRET_KEY and API_TOKEN are in ${MAILU_SECRETS_ENV_PATH.slice(MAILU_DIR.length + 1)} (0600, root only).`,
    ];
    for (const section of envSections(model)) {
        lines.push("", `# ${section.title}`);
        for (const [key, value] of section.entries) lines.push(`${key}=${value}`);
    }
    return { host: "home", path: MAILU_ENV_PATH, mode: "0644", owner: "root:root", content: `${lines.join("\n")}\n`, secret: false };
}

/**
 * The secret half of Mailu's env: `SECRET_KEY` (and `API_TOKEN` when the API is on), 0600 root.
 *
 * Why not `SECRET_KEY_FILE`: Mailu 2024.06 honours it (socrate `set_env`, admin's `<KEY>_FILE` lookup),
 * but the admin container reads it after dropping to uid 1000, so the root-only 0600 file would make
 * admin crash, and handing the file to uid 1000 would hand it to the host's uid 1000 too. Compose reads
 * env files as root on the host and passes the values to the containers, where socrate removes every
 * `*_KEY` variable from the environment of the daemons it starts.
 */
export function renderMailuSecretsEnv(model: MailuModel): HostFile {
    const template: SecretTemplate = [
        `# ${HEADER}\n`,
        "# Mailu's secrets. Compose reads this file as root; only root can read it on the host.\n",
        "SECRET_KEY=", secretSlot(SECRET_KEY_PLACEHOLDER), "\n",
        ...(model.mailu.api ? ["API_TOKEN=", secretSlot(API_TOKEN_PLACEHOLDER), "\n"] : []),
    ];
    return secretHostFile("home", MAILU_SECRETS_ENV_PATH, template);
}

// ---------------------------------------------------------------------------------------------------
// compose.yaml

const YAML_OPTIONS = { defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN", lineWidth: 0, aliasDuplicateObjects: false } as const;

/**
 * The compose project. `repoDigests` maps each image ref of {@link mailuImages} to the digest Docker
 * reported at deploy; every service runs `ref@sha256:…` ({@link pinnedMailuImages}).
 */
export function renderMailuCompose(model: MailuModel, repoDigests: Readonly<Record<string, string>>): HostFile {
    const m = model.mailu;
    const root = m.dataRoot;
    const a = model.addresses;
    const images = pinnedMailuImages(model, repoDigests);
    const envFile = [MAILU_ENV_PATH, MAILU_SECRETS_ENV_PATH].map((p) => p.slice(MAILU_DIR.length + 1));
    const dns = [a.mailuResolver];
    const base = (service: string) => ({ image: images[service], restart: "always" });
    /** A Mailu service on the default network: both env files, its volumes, the resolver as DNS. */
    const mailuService = (service: string, volumes: string[], dependsOn: string[], extra: Record<string, unknown> = {}) => ({
        ...base(service),
        ...extra,
        env_file: envFile,
        volumes,
        depends_on: dependsOn,
        dns,
    });
    const webmail = m.webmail !== "none";

    const services: Record<string, unknown> = {
        redis: { ...base("redis"), volumes: [`${root}/redis:/data`], depends_on: ["resolver"], dns },
        front: mailuService("front", [`${root}/certs:/certs`, `${root}/overrides/nginx:/overrides:ro`], ["resolver"], {
            // Published on the WireGuard address only: 0.0.0.0 with Docker's userland proxy would let
            // anyone reach Mailu from an address it trusts (an open relay, as Mailu's docs warn).
            ports: [...model.ports]
                .sort((x, y) => x.homePort - y.homePort)
                .map((r) => `${a.wgSpoke}:${r.homePort}:${r.homePort}`),
            networks: ["default", ...(webmail ? ["webmail"] : []), ...(m.webdav ? ["radicale"] : [])],
        }),
        resolver: { ...base("resolver"), env_file: envFile, networks: { default: { ipv4_address: a.mailuResolver } } },
        admin: mailuService("admin", [`${root}/data:/data`, `${root}/dkim:/dkim`], ["redis", "resolver"]),
        imap: mailuService("imap", [`${root}/mail:/mail`, `${root}/overrides/dovecot:/overrides:ro`], ["front", "resolver"]),
        smtp: mailuService("smtp", [`${root}/mailqueue:/queue`, `${root}/overrides/postfix:/overrides:ro`], ["front", "resolver"]),
        antispam: mailuService(
            "antispam",
            [`${root}/filter:/var/lib/rspamd`, `${root}/overrides/rspamd:/overrides:ro`],
            ["front", "redis", "resolver", ...(m.antivirus ? ["antivirus"] : [])],
            { hostname: "antispam" },
        ),
    };
    if (m.antivirus) {
        services.antivirus = { ...base("antivirus"), volumes: [`${root}/clamav:/var/lib/clamav`], depends_on: ["resolver"], dns };
    }
    if (m.webdav) {
        services.webdav = { ...base("webdav"), volumes: [`${root}/dav:/data`], networks: ["radicale"] };
    }
    if (m.fetchmail) {
        services.fetchmail = mailuService("fetchmail", [`${root}/data/fetchmail:/data`], ["admin", "smtp", "imap", "resolver"]);
    }
    if (webmail) {
        // On its own network with the front only (as Mailu's setup does); no DNS override needed.
        services.webmail = {
            ...base("webmail"),
            env_file: envFile,
            volumes: [`${root}/webmail:/data`, `${root}/overrides/${m.webmail}:/overrides:ro`],
            networks: ["webmail"],
            depends_on: ["front"],
        };
    }
    const networks: Record<string, unknown> = {
        default: {
            driver: "bridge",
            driver_opts: { "com.docker.network.bridge.name": a.mailuBridge },
            ipam: { driver: "default", config: [{ subnet: a.mailuSubnet }] },
        },
        ...(webmail ? { webmail: { driver: "bridge" } } : {}),
        ...(m.webdav ? { radicale: { driver: "bridge" } } : {}),
    };
    const head = [
        `# ${HEADER}`,
        `# Mailu ${m.version} for ${model.mailHost}; images pinned by the digests recorded at deploy.`,
        "",
    ].join("\n");
    return {
        host: "home",
        path: MAILU_COMPOSE_PATH,
        mode: "0644",
        owner: "root:root",
        content: head + stringify({ name: COMPOSE_PROJECT, services, networks }, YAML_OPTIONS),
        secret: false,
        validate: `docker compose --project-directory ${MAILU_DIR} -f {} config --quiet`,
    };
}

// ---------------------------------------------------------------------------------------------------
// config-import YAML

/** A secret the import YAML needs: a user's password, or a main domain's DKIM private key (PEM). */
export type ImportSecret =
    | { readonly placeholder: string; readonly kind: "password"; readonly address: string }
    | { readonly placeholder: string; readonly kind: "dkim"; readonly domain: string };

export interface MailuImport {
    /** Display text: the YAML with a placeholder token inside "..." per secret (offline render, diffs). */
    readonly content: string;
    /** The same YAML with each secret as a slot inside its "...": what {@link fillImportSecrets} fills. */
    readonly template: SecretTemplate;
    readonly secrets: readonly ImportSecret[];
}

/**
 * A password's secret name: a hash of the address, so every local-part character the config allows
 * (`o'brien`, `first+tag`) makes a valid name, and adding a user renames no one else's secret.
 */
export const passwordPlaceholder = (address: string) => `password:${sha256(address).slice(0, 24)}`;
export const dkimPlaceholder = (domain: string) => `dkim:${domain}`;

/**
 * Mailu's "replace this list" marker (core/admin/mailu/schemas.py `_patch_item`): in update mode, a list
 * holding it replaces the stored list instead of joining it (a union). Mailu honours it only on items
 * that already exist; on a new item it would be stored as a literal value (an alias destination
 * "-prune-"). So `homemail-mailu import` imports twice: first without the markers (creating what is
 * new), then as rendered (every item exists now, so every list becomes exactly the rendered one).
 *
 * Contract with assets/mailu/homemail-mailu.sh: every list of the import is a one-line flow sequence
 * that starts with the marker, `["-prune-", "a@example.com"]` or `["-prune-"]`; the script drops the
 * marker with one sed expression. A secret value cannot imitate it: inside a double-quoted scalar a
 * `"` is always escaped.
 */
export const PRUNE_MARKER = "-prune-";
/** The import's list fields (domain alternatives, alias destinations), rendered with {@link PRUNE_MARKER}. */
const LIST_KEYS = ["alternatives", "destination"];

/**
 * Domains (with their alternative domains and DKIM key), users and aliases, as Mailu's config-import
 * reads them (core/admin/mailu/schemas.py). Every string is double-quoted, so YAML 1.1 readers
 * (PyYAML) and 1.2 readers agree; secrets sit inside quotes, as slots of {@link MailuImport.template}
 * that only {@link fillImportSecrets} fills. Every list replaces what Mailu has ({@link PRUNE_MARKER}): a destination
 * or an alternative domain removed from the config leaves Mailu too. Every user is imported with
 * `enabled: true`, so a user that was disabled (by hand, or by an older homemail's prune) and is
 * listed again receives mail again.
 */
export function renderMailuImport(model: MailuModel): MailuImport {
    const secrets: ImportSecret[] = [];
    // The YAML is written with a marker per secret; a marker that no config text contains (the text
    // decides how many `~` it takes, so the same model gives the same bytes) lets the split below
    // find exactly the renderer's positions.
    let marker = "HOMEMAIL~SLOT";
    const config = JSON.stringify([model.domains, model.users, model.aliases]);
    while (config.includes(marker)) marker += "~";
    const secret = (s: ImportSecret) => {
        secrets.push(s);
        return `${marker}${secrets.length - 1}${marker}`;
    };
    const domain = [...model.mainDomains].sort().map((name) => {
        const alternatives = model.domains.filter((x) => x.alternativeOf === name).map((x) => x.name).sort();
        return {
            name,
            // Always present: removing a domain's last alternative must reach Mailu too.
            alternatives: [PRUNE_MARKER, ...alternatives],
            dkim_key: secret({ placeholder: dkimPlaceholder(name), kind: "dkim", domain: name }),
        };
    });
    const user = [...model.users]
        .sort((x, y) => x.address.localeCompare(y.address))
        .map((u) => ({
            email: u.address,
            password: secret({ placeholder: passwordPlaceholder(u.address), kind: "password", address: u.address }),
            hash_password: true,
            enabled: true,
            global_admin: u.globalAdmin,
            ...(u.displayName !== undefined ? { displayed_name: u.displayName } : {}),
            ...(u.quotaBytes !== undefined ? { quota_bytes: u.quotaBytes } : {}),
        }));
    const alias = [...model.aliases]
        .sort((x, y) => x.address.localeCompare(y.address))
        .map((al) => ({ email: al.address, destination: [PRUNE_MARKER, ...al.destinations] }));
    const head = [
        `# ${HEADER}`,
        `# Input of: flask mailu config-import --update (merge: accounts made in the admin GUI stay).`,
        `# "${PRUNE_MARKER}" makes a list replace Mailu's; homemail-mailu imports once without the markers first.`,
        "",
    ].join("\n");
    const doc = new Document({ domain, user, alias }, YAML_OPTIONS);
    visit(doc, {
        Pair(_, pair) {
            if (isScalar(pair.key) && LIST_KEYS.includes(String(pair.key.value)) && isSeq(pair.value)) pair.value.flow = true;
        },
    });
    const yaml = head + doc.toString({ ...YAML_OPTIONS, flowCollectionPadding: false });
    const pieces = yaml.split(new RegExp(`${escapeRegExp(marker)}(\\d+)${escapeRegExp(marker)}`));
    const template: SecretTemplate = pieces.map((piece, i) => (i % 2 === 0 ? piece : secretSlot(secrets[Number(piece)].placeholder)));
    if (pieces.length !== 2 * secrets.length + 1) throw new Error("mailu import: a secret marker went missing in the YAML");
    return { content: templateText(template), template, secrets };
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The body of a YAML double-quoted scalar for `value` (no surrounding quotes): JSON escapes plus the
 * characters YAML treats as line breaks or refuses in a stream (U+0085, U+2028, U+2029, C1 controls).
 */
export function yamlQuotedBody(value: string): string {
    return JSON.stringify(value)
        .slice(1, -1)
        .replace(/[\u007f-\u009f\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Fills the import YAML's secret slots (and nothing else) with secret values, each escaped for its quoted scalar. */
export function fillImportSecrets(imp: MailuImport, values: Readonly<Record<string, string>>): string {
    return fillTemplate(imp.template, values, yamlQuotedBody);
}

// ---------------------------------------------------------------------------------------------------
// accounts list, sysctl

/** One line per managed account, `user <address>` or `alias <address>`, sorted. Not secret. */
export function renderMailuAccounts(model: MailuModel): HostFile {
    const lines = [
        `# ${HEADER}`,
        "# The users and aliases the stack config declares. `homemail-mailu reconcile` reports the ones",
        "# Mailu has beyond these and deletes those removed from the config only with --prune.",
        ...[...model.users].map((u) => `user ${u.address}`).sort(),
        ...[...model.aliases].map((a) => `alias ${a.address}`).sort(),
    ];
    return { host: "home", path: MAILU_ACCOUNTS_PATH, mode: "0644", owner: "root:root", content: `${lines.join("\n")}\n`, secret: false };
}

/**
 * `net.ipv4.ip_nonlocal_bind = 1`, so Docker can publish the front's ports on the WireGuard address
 * whether or not wg0 carries it yet. Chosen over ordering docker.service after wg-quick@wg0: that
 * drop-in covers only the boot order, while the bind also fails when the front restarts during a wg0
 * restart, or when wg-quick fails (an Endpoint name that does not resolve yet); and it would tie every
 * other Docker workload on the home server to WireGuard. Cost: any local process may bind an address
 * the host does not (yet) have, which only matters for services that rely on bind errors.
 */
export function renderNonlocalBind(model: MailuModel): HostFile {
    const lines = [
        `# ${HEADER}`,
        `# Mailu's front publishes its ports on the WireGuard address ${model.addresses.wgSpoke} only. Docker may`,
        "# start the front before wg0 carries that address (at boot, or while wg0 restarts); the bind would",
        "# fail and the front would not start. With non-local binds allowed it succeeds at any time, and",
        "# traffic flows as soon as wg0 is up.",
        "net.ipv4.ip_nonlocal_bind = 1",
    ];
    return { host: "home", path: NONLOCAL_BIND_SYSCTL_PATH, mode: "0644", owner: "root:root", content: `${lines.join("\n")}\n`, secret: false };
}

/** URLs users and the admin open (through the gateway's 443 passthrough to Mailu's front). */
export function mailuUrls(model: MailuModel): { admin: string; webmail?: string } {
    return {
        admin: `https://${model.mailHost}/admin`,
        ...(model.mailu.webmail !== "none" ? { webmail: `https://${model.mailHost}/webmail` } : {}),
    };
}
