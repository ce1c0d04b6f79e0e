/**
 * The Mailu renderers, read back the way Compose and Mailu 2024.06 read them (tests/helpers/mailu.ts):
 * the env Mailu sees, the compose project Docker runs, the YAML config-import loads.
 */
import * as ipaddr from "ipaddr.js";
import { parse } from "yaml";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseModel, Model } from "../../components/config";
import { placeholdersIn, secretPlaceholder } from "../../components/render/hostFile";
import {
    dkimPlaceholder,
    fillImportSecrets,
    mailuImages,
    passwordPlaceholder,
    renderMailuAccounts,
    renderMailuCompose,
    renderMailuEnv,
    renderMailuImport,
    renderMailuSecretsEnv,
    renderNonlocalBind,
} from "../../components/render/mailu";
import { devModel, withConfig, REPO_ROOT } from "../helpers/stack";
import { frontPorts, mailuValue, proxyProtocolPorts, readEnvFile, readMailuImport, realIpFrom, trusts } from "../helpers/mailu";

const FAKE_DIGEST = `sha256:${"ab".repeat(32)}`;
const digestsFor = (m: Model) => Object.fromEntries(mailuImages(m).map((i) => [i.ref, FAKE_DIGEST]));
const composeOf = (m: Model) => parse(renderMailuCompose(m, digestsFor(m)).content) as {
    name: string;
    services: Record<string, { image: string; ports?: string[]; dns?: string[]; env_file?: string[]; volumes?: string[]; networks?: unknown }>;
    networks: Record<string, { driver_opts?: Record<string, string>; ipam?: { config: { subnet: string }[] } }>;
};
const envOf = (m: Model) => readEnvFile(renderMailuEnv(m).content);
const withMailu = (mailu: Record<string, unknown>) => parseModel(withConfig([{ key: "homemail:mailu", value: mailu }]));

/** The variables Mailu 2024.06's setup utility writes into mailu.env (setup/flavors/compose/mailu.env). */
const SETUP_WRITES = [
    "SECRET_KEY", "SUBNET", "DOMAIN", "HOSTNAMES", "POSTMASTER", "TLS_FLAVOR", "AUTH_RATELIMIT_IP", "AUTH_RATELIMIT_USER",
    "DISABLE_STATISTICS", "ADMIN", "WEBMAIL", "API", "WEBDAV", "ANTIVIRUS", "SCAN_MACROS", "MESSAGE_SIZE_LIMIT",
    "MESSAGE_RATELIMIT", "RELAYNETS", "RELAYHOST", "FETCHMAIL_ENABLED", "FETCHMAIL_DELAY", "RECIPIENT_DELIMITER",
    "DMARC_RUA", "DMARC_RUF", "WELCOME", "WELCOME_SUBJECT", "WELCOME_BODY", "COMPRESSION", "COMPRESSION_LEVEL",
    "WEBROOT_REDIRECT", "WEB_ADMIN", "WEB_WEBMAIL", "WEB_API", "SITENAME", "WEBSITE", "COMPOSE_PROJECT_NAME",
    "CREDENTIAL_ROUNDS", "REAL_IP_HEADER", "REAL_IP_FROM", "REJECT_UNLISTED_RECIPIENT", "LOG_LEVEL", "TZ",
    "DEFAULT_SPAM_THRESHOLD", "API_TOKEN",
];

describe("mailu.env, as Compose and Mailu 2024.06 read it", () => {
    const model = devModel();
    const env = envOf(model);
    const v = (k: string) => env.values.get(k) ?? "";

    it("sets every variable Mailu's setup writes, the secrets only in the 0600 companion file", () => {
        for (const api of [false, true]) {
            const m = withMailu({ api });
            const plain = envOf(m).values;
            const secret = readEnvFile(renderMailuSecretsEnv(m).content).values;
            const missing = SETUP_WRITES.filter((k) => !plain.has(k) && !secret.has(k));
            expect({ api, missing }).toEqual({ api, missing: [] });
            // Secrets are never in the world-readable file.
            expect(plain.has("SECRET_KEY")).toBe(false);
            expect(plain.get("API_TOKEN") ?? "").toBe("");
            expect(secret.has("API_TOKEN")).toBe(api);
        }
        const secretsFile = renderMailuSecretsEnv(model);
        expect(secretsFile.secret).toBe(true);
        expect(secretsFile.mode).toBe("0600");
        expect(placeholdersIn(secretsFile.content)).toHaveLength(1);
    });

    it("is unambiguous for Compose's env_file reader (no duplicates, quotes, $ or inline comments)", () => {
        for (const m of [model, withMailu({ api: true, antivirus: true, webdav: true, fetchmail: true, webmail: "none" })]) {
            const e = envOf(m);
            expect({ duplicates: e.duplicates, ambiguous: e.ambiguous, malformed: e.malformed }).toEqual({ duplicates: [], ambiguous: [], malformed: [] });
        }
    });

    it("expects PROXY v2 on exactly the ports the gateway sends it to, 443 included", () => {
        const { ports, unknown } = proxyProtocolPorts(v("PROXY_PROTOCOL"));
        expect(unknown).toEqual([]);
        expect([...ports].sort((a, b) => a - b)).toEqual([...model.proxyV2Ports]);
        // The PROXY header arrives at the home port of each PROXY v2 row.
        expect([...ports].sort((a, b) => a - b)).toEqual(model.ports.filter((r) => r.proxyV2).map((r) => r.homePort).sort((a, b) => a - b));
        expect(ports.has(443)).toBe(true);
        expect(ports.has(80)).toBe(false);
    });

    it("listens on exactly the home ports of the port table, and on nothing not offered", () => {
        const { ports, unknown } = frontPorts(v("PORTS"));
        expect(unknown).toEqual([]);
        expect([...ports].sort((a, b) => a - b)).toEqual(model.ports.map((r) => r.homePort).sort((a, b) => a - b));
        for (const closed of model.notOffered) expect(ports.has(closed.port)).toBe(false);
    });

    it("trusts the PROXY header from every address the gateway connects from, and only those", () => {
        const { items, invalid } = realIpFrom(v("REAL_IP_FROM"));
        expect(invalid).toEqual([]);
        for (const a of model.addresses.gatewaySourceAddresses) expect(trusts(items, a)).toBe(true);
        // Not the Docker network or the home LAN: those must never be able to claim another address.
        expect(trusts(items, model.addresses.mailuGateway)).toBe(false);
        // Nor the VPS public IP: nothing connects to home from it (issue 13 hole 7), and whoever can
        // send from it through the tunnel must not be able to claim any client address.
        expect(items).toEqual([model.addresses.wgHub]);
        expect(trusts(items, model.addresses.vpsPublicIp)).toBe(false);
        expect(v("REAL_IP_HEADER")).toBe("");
        // Relaying for a network would make an open relay.
        expect(v("RELAYNETS")).toBe("");
    });

    it("names Mailu's domain and hosts: the mail host first, every passthrough host, no spaces", () => {
        expect(v("DOMAIN")).toBe("example.com");
        const hosts = v("HOSTNAMES").split(",");
        expect(hosts[0]).toBe(model.mailHost);
        expect(new Set(hosts)).toEqual(new Set(model.passthroughHosts));
        expect(v("WEBSITE")).toBe(`https://${model.mailHost}`);
        expect(v("TLS_FLAVOR")).toBe("letsencrypt");
        expect(v("DKIM_SELECTOR")).toBe(model.dkim.selector);
    });

    it("spells every switch so that Mailu reads a boolean, and follows the options", () => {
        const switches = ["ADMIN", "API", "DISABLE_STATISTICS", "FETCHMAIL_ENABLED", "WELCOME", "SCAN_MACROS", "AUTH_REQUIRE_TOKENS"];
        for (const k of switches) expect({ k, type: typeof mailuValue(v(k)) }).toEqual({ k, type: "boolean" });
        expect(mailuValue(v("ADMIN"))).toBe(true);
        expect(mailuValue(v("API"))).toBe(false);
        expect(mailuValue(v("AUTH_REQUIRE_TOKENS"))).toBe(false);
        const on = envOf(withMailu({ api: true, authRequireTokens: true, fetchmail: true })).values;
        expect(mailuValue(on.get("API") ?? "")).toBe(true);
        expect(mailuValue(on.get("AUTH_REQUIRE_TOKENS") ?? "")).toBe(true);
        expect(mailuValue(on.get("FETCHMAIL_ENABLED") ?? "")).toBe(true);
    });

    it("names the webmail explicitly and never redirects / to a disabled one", () => {
        expect(v("WEBMAIL")).toBe("snappymail");
        expect(envOf(withMailu({ webmail: "roundcube" })).values.get("WEBMAIL")).toBe("roundcube");
        const none = envOf(withMailu({ webmail: "none" })).values;
        expect(none.get("WEBMAIL")).toBe("none");
        expect(none.get("WEBROOT_REDIRECT")).not.toBe(none.get("WEB_WEBMAIL"));
    });
});

describe("the compose project", () => {
    const model = devModel();
    const compose = composeOf(model);
    const env = envOf(model).values;

    it("publishes exactly the port table's home ports, only on the WireGuard address, only from front", () => {
        const published = Object.entries(compose.services).filter(([, s]) => s.ports?.length);
        expect(published.map(([name]) => name)).toEqual(["front"]);
        const bindings = (compose.services.front.ports ?? []).map((p) => /^([0-9.]+):([0-9]+):([0-9]+)$/.exec(p));
        expect(bindings.every(Boolean)).toBe(true);
        expect(new Set(bindings.map((b) => b![1]))).toEqual(new Set([model.addresses.wgSpoke]));
        expect(bindings.map((b) => Number(b![2])).sort((a, b) => a - b)).toEqual(model.ports.map((r) => r.homePort).sort((a, b) => a - b));
        // Container ports are the ones Mailu's front listens on (PORTS).
        expect(new Set(bindings.map((b) => Number(b![3])))).toEqual(frontPorts(env.get("PORTS") ?? "").ports);
    });

    it("runs Mailu's subnet: SUBNET is the network's subnet, the bridge is br-mailu, the resolver second-to-last", () => {
        const net = compose.networks.default;
        expect(net.ipam?.config.map((c) => c.subnet)).toEqual([env.get("SUBNET")]);
        expect(net.driver_opts?.["com.docker.network.bridge.name"]).toBe("br-mailu");
        const [base, prefix] = ipaddr.IPv4.parseCIDR(env.get("SUBNET") ?? "");
        const secondToLast = ipaddr.IPv4.parse(ipaddr.IPv4.broadcastAddressFromCIDR(`${base}/${prefix}`).toString());
        secondToLast.octets[3] -= 1;
        const resolver = (compose.services.resolver.networks as { default: { ipv4_address: string } }).default.ipv4_address;
        expect(resolver).toBe(secondToLast.toString());
        expect(resolver).toBe(model.addresses.mailuResolver);
        for (const [name, s] of Object.entries(compose.services)) {
            if (s.dns) expect({ name, dns: s.dns }).toEqual({ name, dns: [resolver] });
        }
    });

    it("runs every image by digest, Mailu's at the pinned 2024.06 release", () => {
        for (const [name, s] of Object.entries(compose.services)) {
            expect({ name, image: s.image }).toEqual({ name, image: expect.stringMatching(/^[^@\s]+:[^@\s]+@sha256:[0-9a-f]{64}$/) });
        }
        const mailu = Object.values(compose.services).filter((s) => s.image.startsWith("ghcr.io/mailu/"));
        expect(mailu.length).toBeGreaterThanOrEqual(6);
        for (const s of mailu) expect(s.image).toContain(`:${model.mailu.version}@`);
        expect(model.mailu.version).toMatch(/^2024\.06\.\d+$/);
        expect(() => renderMailuCompose(model, {})).toThrow(/digest/);
    });

    it("has the core services always and the optional ones exactly when enabled", () => {
        const core = ["front", "resolver", "admin", "imap", "smtp", "antispam", "redis"];
        expect(Object.keys(compose.services).sort()).toEqual([...core, "webmail"].sort());
        const all = composeOf(withMailu({ antivirus: true, webdav: true, fetchmail: true, webmail: "roundcube" }));
        expect(Object.keys(all.services).sort()).toEqual([...core, "antivirus", "webdav", "fetchmail", "webmail"].sort());
        const none = composeOf(withMailu({ webmail: "none" }));
        expect(Object.keys(none.services).sort()).toEqual([...core].sort());
        expect(Object.keys(none.networks)).toEqual(["default"]);
    });

    it("keeps all data under the data root and hands Mailu's services both env files", () => {
        const m = withMailu({ dataRoot: "/mnt/luks/mailu", antivirus: true, webdav: true, fetchmail: true });
        const c = composeOf(m);
        for (const [name, s] of Object.entries(c.services)) {
            for (const vol of s.volumes ?? []) expect({ name, vol }).toEqual({ name, vol: expect.stringMatching(/^\/mnt\/luks\/mailu\/[a-z/]+:/) });
            if (s.image.startsWith("ghcr.io/mailu/") && name !== "webdav") expect({ name, env: s.env_file }).toEqual({ name, env: ["mailu.env", "secrets/mailu-secrets.env"] });
        }
    });

    it("is checked on the host by docker compose config before it replaces the live file", () => {
        const file = renderMailuCompose(model, digestsFor(model));
        expect(file.path).toBe("/opt/homemail/mailu/compose.yaml");
        expect(file.validate).toMatch(/^docker compose .*-f \{\} config/);
        expect(file.secret).toBe(false);
    });
});

describe("the config-import YAML, as Mailu 2024.06 loads it", () => {
    const model = devModel();
    const imp = renderMailuImport(model);
    const pem = readFileSync(path.join(REPO_ROOT, "tests/fixtures/dkim/test-only-dkim.key"), "utf8");
    const fill = (passwords: (address: string) => string) =>
        fillImportSecrets(imp, Object.fromEntries(imp.secrets.map((s) => [s.placeholder, s.kind === "password" ? passwords(s.address) : pem])));

    it("holds placeholders, not secrets, until the component fills it", () => {
        const read = readMailuImport(imp.content);
        expect(read.problems).toEqual([]);
        for (const u of read.users) expect(u.password).toMatch(/^@@HOMEMAIL_SECRET\(.+\)@@$/);
        expect(imp.secrets.filter((s) => s.kind === "password").map((s) => s.kind === "password" && s.address).sort()).toEqual(model.users.map((u) => u.address).sort());
        expect(imp.secrets.filter((s) => s.kind === "dkim").map((s) => s.kind === "dkim" && s.domain)).toEqual(["example.com"]);
    });

    it("declares exactly the model's users (one global admin) and aliases", () => {
        const read = readMailuImport(fill(() => "pw"));
        expect(read.problems).toEqual([]);
        expect(read.users.map((u) => u.email).sort()).toEqual(model.users.map((u) => u.address).sort());
        expect(read.users.filter((u) => u.globalAdmin).map((u) => u.email)).toEqual([model.adminAddress]);
        expect(read.users.find((u) => u.email === "user@example.com")?.displayedName).toBe("Example User");
        expect(read.aliases.map((a) => [a.email, a.destination])).toEqual(
            [...model.aliases].sort((a, b) => a.address.localeCompare(b.address)).map((a) => [a.address, [...a.destinations]]),
        );
    });

    it("carries every password exactly as set, whatever characters it has, for Mailu to hash", () => {
        const nasty = ['pa"ss\\word', "line\nbreak\ttab", "# not a comment: really", "@leading-at", "- dash", "yes", "no", "null", "~", "12e3", "'single'", "ünïcødé ✉", "line\u2028sep\u0085nel", "del\u007fchar", " spaced "];
        for (const pw of nasty) {
            const read = readMailuImport(fill(() => pw));
            expect(read.problems).toEqual([]);
            for (const u of read.users) {
                expect({ pw, got: u.password }).toEqual({ pw, got: pw });
                expect(u.hashPassword).toBe(true);
            }
        }
    });

    it("carries each main domain's DKIM key PEM exactly, and lists alternative domains under their parent", () => {
        const m = parseModel(
            withConfig([
                { key: "homemail:cloudflareZones", value: { "example.com": "0123456789abcdef0123456789abcdef", "example.net": "1123456789abcdef0123456789abcdef", "example.org": "2123456789abcdef0123456789abcdef" } },
                { key: "homemail:extraDomains", value: ["example.org"] },
                { key: "homemail:alternativeDomains", value: { "example.com": ["example.net"] } },
            ]),
        );
        const i = renderMailuImport(m);
        const read = readMailuImport(fillImportSecrets(i, Object.fromEntries(i.secrets.map((s) => [s.placeholder, s.kind === "dkim" ? `${pem}${s.domain}` : "pw"]))));
        expect(read.problems).toEqual([]);
        expect(read.domains.map((d) => [d.name, d.alternatives])).toEqual([
            ["example.com", ["example.net"]],
            ["example.org", []],
        ]);
        for (const d of read.domains) expect(d.dkimKey).toBe(`${pem}${d.name}`);
    });
});

describe("the config-import's secrets go only where the renderer put them (issue 13 holes 3, 4)", () => {
    const pem = readFileSync(path.join(REPO_ROOT, "tests/fixtures/dkim/test-only-dkim.key"), "utf8");
    const base = devModel();
    const admin = base.adminAddress;
    const other = base.users.find((u) => u.address !== admin)!;
    // Display names spelling out every way of naming the admin's password or the DKIM key, as today's
    // and yesterday's placeholders did: the model is built by hand, below the config's own refusal.
    const lures = [
        secretPlaceholder(passwordPlaceholder(admin)),
        `@@HOMEMAIL_SECRET(password:${admin})@@`,
        `x ${secretPlaceholder(dkimPlaceholder("example.com"))} y`,
        "HOMEMAIL~SLOT0HOMEMAIL~SLOT",
    ];
    const passwordOf = (address: string) => `pw-of-${address}`;
    const fill = (m: Model) => {
        const imp = renderMailuImport(m);
        return fillImportSecrets(imp, Object.fromEntries(imp.secrets.map((s) => [s.placeholder, s.kind === "password" ? passwordOf(s.address) : pem])));
    };

    it.each(lures)("a display name %j stays text and copies no secret", (lure) => {
        const model: Model = { ...base, users: base.users.map((u) => (u.address === other.address ? { ...u, displayName: lure } : u)) };
        const yaml = fill(model);
        const read = readMailuImport(yaml);
        expect(read.problems).toEqual([]);
        expect(read.users.find((u) => u.email === other.address)?.displayedName).toBe(lure);
        for (const u of read.users) expect({ email: u.email, password: u.password }).toEqual({ email: u.email, password: passwordOf(u.email) });
        expect(yaml.split(passwordOf(admin)).length - 1).toBe(1);
        expect(yaml.split(JSON.stringify(pem).slice(1, 40)).length - 1).toBe(1);
    });

    it("names each password by a hash of its address: every local-part character the config allows renders, and adding a user renames no other", () => {
        const specials = "!#$%&'*+/=?^_`{|}~-";
        const addresses = ["o'brien@example.com", "first+tag@example.com", ...[...specials].map((c) => `a${c}b@example.com`)];
        const model = parseModel(withConfig([{ key: "homemail:users", value: addresses.map((address) => ({ address })) }]));
        const imp = renderMailuImport(model);
        const read = readMailuImport(fill(model));
        expect(read.problems).toEqual([]);
        for (const a of addresses) expect(read.users.find((u) => u.email === a)?.password).toBe(passwordOf(a));
        const names = imp.secrets.map((s) => s.placeholder);
        expect(new Set(names).size).toBe(names.length);
        const fewer = renderMailuImport(parseModel(withConfig([{ key: "homemail:users", value: addresses.slice(1).map((address) => ({ address })) }])));
        const nameOf = (i: typeof imp, a: string) => i.secrets.find((s) => s.kind === "password" && s.address === a)?.placeholder;
        for (const a of addresses.slice(1)) expect(nameOf(fewer, a)).toBe(nameOf(imp, a));
    });
});

describe("the other home files", () => {
    const model = devModel();

    it("lists the managed accounts: every user and alias of the config, one per line", () => {
        const lines = renderMailuAccounts(model).content.split("\n").filter((l) => l && !l.startsWith("#"));
        expect(lines.filter((l) => l.startsWith("user ")).map((l) => l.slice(5)).sort()).toEqual(model.users.map((u) => u.address).sort());
        expect(lines.filter((l) => l.startsWith("alias ")).map((l) => l.slice(6)).sort()).toEqual(model.aliases.map((a) => a.address).sort());
        expect(lines.every((l) => /^(user|alias) \S+$/.test(l))).toBe(true);
    });

    it("allows non-local binds, so the front can bind the WireGuard address before wg0 is up", () => {
        const settings = renderNonlocalBind(model).content.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split("=").map((x) => x.trim()));
        expect(settings).toEqual([["net.ipv4.ip_nonlocal_bind", "1"]]);
    });
});

describe("determinism", () => {
    const model = devModel();
    const all = (m: Model) => [
        renderMailuEnv(m).content,
        renderMailuSecretsEnv(m).content,
        renderMailuCompose(m, digestsFor(m)).content,
        renderMailuImport(m).content,
        renderMailuAccounts(m).content,
        renderNonlocalBind(m).content,
    ];

    it("renders the same bytes twice, and for reversed input order", () => {
        expect(all(model)).toEqual(all(model));
        const reversed: Model = { ...model, users: [...model.users].reverse(), aliases: [...model.aliases].reverse(), ports: [...model.ports].reverse(), domains: [...model.domains].reverse() };
        expect(all(reversed)).toEqual(all(model));
    });

    it("starts every file with the managed-by header and ends it with a newline", () => {
        for (const text of all(model)) {
            expect(text.startsWith("# managed by homemail, do not edit\n")).toBe(true);
            expect(text.endsWith("\n")).toBe(true);
        }
    });
});
