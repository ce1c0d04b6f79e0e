/**
 * Stack config -> Model. Pure: takes the config map Pulumi hands the program (every value a string)
 * and the list of keys set with `--secret`; returns a frozen Model or throws one ConfigError that
 * lists every problem. Secret values are checked for presence and shape, never copied into the model.
 *
 * Step 1 (decode.ts) decodes and shape-checks every key; step 2 runs the per-area validators of
 * validate/ over one shared problem list; step 3 assembles the model from their results, computing
 * each derived value once.
 */
import { DEFAULTS } from "./defaults";
import { decode } from "./decode";
import { ConfigError, ProblemList } from "./errors";
import { NAMESPACE } from "./keys";
import type { Model } from "./model";
import { nthAddress } from "./net";
import { NOT_OFFERED, PORT_TABLE, proxyV2Ports } from "./ports";
import { validateNetworks, validateWireguardHosts } from "./validate/addresses";
import type { Ctx } from "./validate/context";
import { validateDnsPolicy } from "./validate/dns";
import { validateDomains, validateHostnames, validateZones, zoneOfName } from "./validate/domains";
import { validateEgress } from "./validate/egress";
import { validateGateway, validateImages } from "./validate/gateway";
import { validateMailu } from "./validate/mailu";
import { validateSsh } from "./validate/ssh";
import { validateAliases, validateReportAddresses, validateUsers } from "./validate/users";
import { validateWkd } from "./validate/wkd";

export { isHostname, splitAddress } from "./names";

export interface ConfigInput {
    /** Pulumi's config map: `namespace:key` -> string value (objects as JSON). */
    readonly values: Readonly<Record<string, string>>;
    /** Keys (`namespace:key`) whose values were set with `--secret`. */
    readonly secretKeys: readonly string[];
    readonly project: string;
    readonly stack: string;
}

/** Every validator, in dependency order; the results of all of them, each possibly missing after a problem. */
function validateAll(ctx: Ctx) {
    const zones = validateZones(ctx);
    const domains = validateDomains(ctx, zones);
    const hostnames = validateHostnames(ctx, zones, domains);
    const networks = validateNetworks(ctx);
    const wg = validateWireguardHosts(ctx, networks.wgNetwork, networks.vpsPublicIp);
    const ssh = validateSsh(ctx, networks.vpsPublicIp);
    const { admin, users, wkdUsers } = validateUsers(ctx, domains);
    const aliases = validateAliases(ctx, domains, users, admin);
    const reports = validateReportAddresses(ctx, { admin, users, aliases, wkdUsers }, domains);
    const dns = validateDnsPolicy(ctx, reports.dmarcReport);
    const publications = validateWkd(ctx, domains, wkdUsers);
    const images = validateImages(ctx);
    const gateway = validateGateway(ctx);
    const mailu = validateMailu(ctx);
    const egress = validateEgress(ctx);
    return { zones, domains, hostnames, networks, wg, ssh, admin, users, aliases, reports, dns, publications, images, gateway, mailu, egress };
}

type Results = ReturnType<typeof validateAll>;

/** The zone of every name homemail publishes records under (underscore names follow their host). */
function zonesOfNames(r: Results, hostnames: string[]): Record<string, string> {
    const names = [...new Set(hostnames)].sort();
    return Object.fromEntries(names.flatMap((n) => {
        const zone = zoneOfName(r.zones, n);
        return zone ? [[n, zone]] : [];
    }));
}

/** Step 3: the model, once every validator passed. Undefined only if a validator failed silently. */
function assemble(input: ConfigInput, ctx: Ctx, r: Results): Model | undefined {
    const { networks: n, wg, hostnames: h, reports, dns } = r;
    const accountId = ctx.raw.cloudflareAccountId;
    if (!h.mailHost || !r.admin || !n.vpsPublicIp || !n.homeWanIp || !n.homeLan || !n.wgNetwork || !n.mailSubnet || !wg.hub || !wg.spoke || !wg.endpointHost) return undefined;
    if (!r.ssh.vps || !r.ssh.home || !reports.acme || !reports.tlsRpt || !dns || !r.images || !r.gateway || !r.mailu || !r.egress || !accountId) return undefined;
    const reportDomains = [reports.tlsRpt, dns.dmarc.reportAddress].map((a) => a.slice(a.lastIndexOf("@") + 1));
    const published = [...r.domains.map((d) => d.name), h.mailHost, ...h.extraHostnames, ...h.webHosts.map((w) => w.name), ...reportDomains];
    return {
        project: input.project,
        stack: input.stack,
        exampleAddresses: ctx.example,
        cloudflare: { accountId, zones: r.zones, proxiedHosts: h.proxiedHosts, zoneOfName: zonesOfNames(r, published) },
        domains: r.domains,
        mainDomains: r.domains.filter((d) => d.kind !== "alternative").map((d) => d.name),
        mailHost: h.mailHost,
        extraHostnames: h.extraHostnames,
        webHosts: h.webHosts,
        passthroughHosts: h.passthroughHosts,
        acmeEmail: reports.acme,
        adminAddress: r.admin.address,
        vps: { ssh: r.ssh.vps },
        home: { ssh: r.ssh.home },
        addresses: {
            vpsPublicIp: n.vpsPublicIp,
            ...(n.vpsPublicIpv6 ? { vpsPublicIpv6: n.vpsPublicIpv6 } : {}),
            vpsWanInterface: n.vpsWanInterface,
            vpsOneToOneNat: ctx.raw.vps?.oneToOneNat ?? false,
            homeWanIp: n.homeWanIp,
            homeLan: n.homeLan.text,
            wgNetwork: n.wgNetwork.text,
            wgPrefixLength: n.wgNetwork.prefix,
            wgHub: wg.hub,
            wgSpoke: wg.spoke,
            wgPort: ctx.raw.wireguard?.port ?? DEFAULTS.wgPort,
            wgMtu: ctx.raw.wireguard?.mtu ?? DEFAULTS.wgMtu,
            wgKeepalive: ctx.raw.wireguard?.keepaliveSeconds ?? DEFAULTS.wgKeepalive,
            wgEndpointHost: wg.endpointHost,
            mailuSubnet: n.mailSubnet.text,
            mailuBridge: DEFAULTS.mailuBridge,
            mailuGateway: nthAddress(n.mailSubnet, 1),
            mailuResolver: nthAddress(n.mailSubnet, -2),
            // Traefik and HAProxy run on the VPS host network and reach home through wg0, so Mailu
            // sees them connect from the hub address, hairpin mail (home -> VPS -> home) included.
            gatewaySourceAddresses: [wg.hub],
            wkdListen: DEFAULTS.wkdListen,
        },
        ports: PORT_TABLE,
        notOffered: NOT_OFFERED,
        proxyV2Ports: proxyV2Ports(PORT_TABLE),
        mailu: r.mailu,
        ...dns,
        tlsRptAddress: reports.tlsRpt,
        users: r.users,
        aliases: r.aliases,
        wkd: { publications: r.publications },
        images: { ...r.images, mailu: r.mailu.version, mailuRegistry: DEFAULTS.mailuRegistry, mailuRedis: DEFAULTS.mailuRedisImage, mailuAntivirus: DEFAULTS.mailuAntivirusImage },
        gateway: r.gateway,
        wireguard: { keyEpoch: ctx.raw.wireguard?.keyEpoch ?? DEFAULTS.wgKeyEpoch },
        egress: r.egress,
    };
}

function deepFreeze<T>(value: T): T {
    if (value && typeof value === "object" && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const v of Object.values(value as object)) deepFreeze(v);
    }
    return value;
}

/** The Cloudflare provider's own credential must be a secret too, or it sits in the stack file in clear. */
function checkProviderCredentials(input: ConfigInput, problems: ProblemList): void {
    for (const key of ["cloudflare:apiToken", "cloudflare:apiKey"]) {
        if (input.values[key] !== undefined && !input.secretKeys.includes(key)) {
            problems.add(key, "holds a credential but was set in plain text", `set it again with --secret: pulumi config set --secret ${key} <value>`);
        }
    }
}

/** Parses and validates the whole stack config. Throws {@link ConfigError} listing every problem. */
export function parseModel(input: ConfigInput): Model {
    const problems = new ProblemList();
    checkProviderCredentials(input, problems);
    const { raw, present } = decode(input.values, input.secretKeys, problems);
    const ctx: Ctx = { raw, problems, present, example: raw.exampleAddresses ?? false };
    const results = validateAll(ctx);
    const model = problems.empty ? assemble(input, ctx, results) : undefined;
    if (!problems.empty || !model) {
        throw new ConfigError(problems.empty ? [{ key: NAMESPACE, problem: "the config is incomplete", fix: "see README.md, 'Configuration'" }] : problems.all);
    }
    return deepFreeze(model);
}
