/**
 * Runs the real program under Pulumi's mock engine and records every resource registration with its
 * parent, options and inputs (secrets still marked). Provider-computed values come from the test-only
 * fixtures in tests/fixtures/, so the result is deterministic and offline.
 *
 * Used by `npm run render` and by the component tests.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
const FIXTURES = path.join(REPO_ROOT, "tests", "fixtures");

/** Pulumi's wire marker for a secret value inside deserialized inputs. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface SecretValue {
    readonly secret: true;
    readonly value: unknown;
}

export interface RecordedResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    readonly parent: string;
    /** Inputs with secret values as {@link SecretValue}. */
    readonly inputs: Record<string, unknown>;
    readonly options: {
        readonly protect: boolean;
        readonly deleteBeforeReplace: boolean;
        readonly retainOnDelete: boolean;
        readonly ignoreChanges: readonly string[];
        readonly dependsOn: readonly string[];
    };
}

export interface ProgramRun {
    readonly resources: RecordedResource[];
    /** What each component registered as its outputs (registerOutputs), by URN; secrets as {@link SecretValue}. */
    readonly componentOutputs?: Readonly<Record<string, Record<string, unknown>>>;
    /** The program module's exports, resolved; secrets as {@link SecretValue}. */
    readonly outputs: Record<string, unknown>;
}

export function isSecretValue(v: unknown): v is SecretValue {
    return typeof v === "object" && v !== null && (v as SecretValue).secret === true && "value" in v && Object.keys(v).length === 2;
}

/** The value itself, whether or not it is marked secret. */
export function plainValue(v: unknown): unknown {
    return isSecretValue(v) ? v.value : v;
}

/** Converts Pulumi's secret wire markers into {@link SecretValue}s, recursively. */
function markSecrets(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(markSecrets);
    if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (o[SIG_KEY] === SECRET_SIG) return { secret: true, value: stripSecrets(o.value) } as SecretValue;
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, markSecrets(x)]));
    }
    return v;
}

function stripSecrets(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(stripSecrets);
    if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (o[SIG_KEY] === SECRET_SIG) return stripSecrets(o.value);
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, stripSecrets(x)]));
    }
    return v;
}

interface ProviderFixtures {
    byType: Record<string, Record<string, unknown>>;
    /** Data-source results by invoke token (merged over the inputs, as a provider echoes its filters). */
    invokes?: Record<string, Record<string, unknown>>;
    wireguardPublicKeys: { hub: string; spoke: string };
}

function loadFixtures(): ProviderFixtures {
    return JSON.parse(readFileSync(path.join(FIXTURES, "provider-outputs.json"), "utf8")) as ProviderFixtures;
}

/** The id the mock engine gives a custom resource (a provider would return its own). */
export function mockResourceId(name: string): string {
    return `${name}-id`;
}

/** A value the mock engine invents (never a config input), and what it stands for. */
export interface FixtureMarker {
    /** The fixture text; a value containing it (or, for ids, equal to it) is fixture-derived. */
    readonly text: string;
    readonly match: "contains" | "equals";
    readonly what: string;
}

/**
 * Every fixture value a render can show outside secrets: the DKIM public key (as its base64 body,
 * the form TXT records and outputs carry), the DNSSEC DS, WireGuard public keys, image digests and
 * the ACME token. Resource ids are added by the caller ({@link mockResourceId}).
 */
export function fixtureMarkers(fx: ProviderFixtures = loadFixtures()): FixtureMarker[] {
    const pub = readFileSync(path.join(FIXTURES, "dkim", "test-only-dkim.pub"), "utf8").replace(/-----[A-Z ]+-----|\s/g, "");
    const ds = fx.byType["cloudflare:index/zoneDnssec:ZoneDnssec"] ?? {};
    const contains = (text: unknown, what: string): FixtureMarker[] => (typeof text === "string" && text.length >= 16 ? [{ text, match: "contains", what }] : []);
    return [
        ...contains(pub, "DKIM public key (tests/fixtures/dkim): the same for every domain"),
        ...contains(ds.digest, "DNSSEC DS digest (tests/fixtures/provider-outputs.json): the same for every zone"),
        ...contains(ds.publicKey, "DNSSEC public key (tests/fixtures/provider-outputs.json): the same for every zone"),
        ...contains(fx.wireguardPublicKeys.hub, "WireGuard hub public key (tests/fixtures/wireguard)"),
        ...contains(fx.wireguardPublicKeys.spoke, "WireGuard spoke public key (tests/fixtures/wireguard)"),
        ...contains(fx.byType["docker:index/remoteImage:RemoteImage"]?.repoDigest, "image digest (tests/fixtures/provider-outputs.json)"),
        ...contains(fx.byType["cloudflare:index/apiToken:ApiToken"]?.value, "ACME API token (tests/fixtures/provider-outputs.json)"),
    ];
}

const hex = (seed: string, n: number) => createHash("sha256").update(seed).digest("hex").slice(0, n);

/** What the providers would compute, from fixtures; inputs pass through as state. */
export function fixtureState(type: string, name: string, inputs: Record<string, unknown>, fx: ProviderFixtures = loadFixtures()): Record<string, unknown> {
    const state: Record<string, unknown> = { ...inputs, ...(fx.byType[type] ?? {}) };
    switch (type) {
        case "tls:index/privateKey:PrivateKey": {
            const pem = readFileSync(path.join(FIXTURES, "dkim", "test-only-dkim.key"), "utf8");
            state.privateKeyPem = pem;
            state.privateKeyPemPkcs8 = readFileSync(path.join(FIXTURES, "dkim", "test-only-dkim.pkcs8.key"), "utf8");
            state.publicKeyPem = readFileSync(path.join(FIXTURES, "dkim", "test-only-dkim.pub"), "utf8");
            break;
        }
        case "random:index/randomPassword:RandomPassword":
        case "random:index/randomString:RandomString": {
            const length = typeof inputs.length === "number" ? inputs.length : 32;
            state.result = `fixture${hex(`${type}/${name}`, 64)}`.slice(0, length);
            break;
        }
        case "random:index/randomBytes:RandomBytes":
        case "random:index/randomId:RandomId": {
            const h = hex(`${type}/${name}`, 64);
            state.hex = h;
            state.base64 = Buffer.from(h, "hex").toString("base64");
            state.b64Std = state.base64;
            break;
        }
        case "command:remote:Command":
        case "command:local:Command": {
            // Key steps return the host-born WireGuard public key; every other step prints nothing we read.
            if (/-hub-key$/.test(name)) state.stdout = fx.wireguardPublicKeys.hub;
            else if (/-spoke-key$/.test(name)) state.stdout = fx.wireguardPublicKeys.spoke;
            else state.stdout = state.stdout ?? "";
            state.stderr = "";
            break;
        }
        default:
            break;
    }
    return state;
}

interface MonitorRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getProtect(): boolean | undefined;
    getDeletebeforereplace(): boolean;
    getRetainondelete(): boolean | undefined;
    getIgnorechangesList(): string[];
    getDependenciesList(): string[];
}

/**
 * Runs `load` (which imports the program) under mocks with the given config and returns what it
 * registered. `pulumi` must be the same module instance the program imports.
 */
export async function runProgram(opts: {
    pulumi: typeof import("@pulumi/pulumi");
    project: string;
    stack: string;
    config: Record<string, string>;
    secretKeys: string[];
    load: () => Promise<Record<string, unknown>>;
    /** Called for each registration as it happens (also when the program later fails). */
    onResource?: (r: RecordedResource) => void;
    /**
     * A test's own data-source results (e.g. a zone's record listing) by invoke token, as a function of
     * the invoke's inputs; undefined falls back to the fixtures.
     */
    invoke?: (token: string, inputs: Record<string, unknown>) => Record<string, unknown> | undefined;
}): Promise<ProgramRun> {
    const { pulumi } = opts;
    const fx = loadFixtures();
    const inputsByUrnKey = new Map<string, Record<string, unknown>>();
    const resources: RecordedResource[] = [];
    pulumi.runtime.setAllConfig(opts.config, opts.secretKeys);
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                inputsByUrnKey.set(`${args.type}::${args.name}`, args.inputs);
                return { id: mockResourceId(args.name), state: fixtureState(args.type, args.name, args.inputs, fx) };
            },
            call: (args) => ({ ...args.inputs, ...(opts.invoke?.(args.token, args.inputs) ?? fx.invokes?.[args.token] ?? {}) }),
        },
        opts.project,
        opts.stack,
        false,
    );
    // Wrap the mock monitor to see what the mocks API hides: parent, options, the URN.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): unknown };
    const monitor = settings.getMonitor() as {
        registerResource(req: MonitorRequest, cb: (err: unknown, resp?: { getUrn(): string }) => void): void;
    };
    const componentOutputs: Record<string, Record<string, unknown>> = {};
    const withOutputs = monitor as unknown as {
        registerResourceOutputs(req: { getUrn(): string; getOutputs(): { toJavaScript(): Record<string, unknown> } | undefined }, cb: (err: unknown, resp?: unknown) => void): void;
    };
    const originalOutputs = withOutputs.registerResourceOutputs.bind(monitor);
    withOutputs.registerResourceOutputs = (req, cb) => {
        componentOutputs[req.getUrn()] = markSecrets(req.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>;
        originalOutputs(req, cb);
    };
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) =>
        original(req, (err, resp) => {
            if (!err && resp) {
                const recorded: RecordedResource = {
                    urn: resp.getUrn(),
                    type: req.getType(),
                    name: req.getName(),
                    custom: req.getCustom(),
                    parent: req.getParent(),
                    inputs: markSecrets(inputsByUrnKey.get(`${req.getType()}::${req.getName()}`) ?? {}) as Record<string, unknown>,
                    options: {
                        protect: req.getProtect() ?? false,
                        deleteBeforeReplace: req.getDeletebeforereplace(),
                        retainOnDelete: req.getRetainondelete() ?? false,
                        ignoreChanges: req.getIgnorechangesList(),
                        dependsOn: req.getDependenciesList(),
                    },
                };
                resources.push(recorded);
                opts.onResource?.(recorded);
            }
            cb(err, resp);
        });

    // As Pulumi's language host: a module that exports a promise (main.ts) or a function is awaited,
    // and what it gives is the program's exports.
    const loaded = await opts.load();
    const entry = loaded.default as { then?: unknown } | (() => unknown) | undefined;
    const exports = (typeof entry === "function" ? await entry() : typeof entry?.then === "function" ? await entry : loaded) as Record<string, unknown>;
    const outputs: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(exports)) {
        if (key === "__esModule" || key === "default") continue;
        outputs[key] = await resolveOutput(pulumi, value);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const rpcSettings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs?: () => Promise<void> };
    if (rpcSettings.waitForRPCs) await rpcSettings.waitForRPCs();
    resources.sort((a, b) => a.urn.localeCompare(b.urn));
    const sortedOutputs = Object.fromEntries(Object.keys(componentOutputs).sort().map((urn) => [urn, componentOutputs[urn]]));
    return { resources, outputs, componentOutputs: sortedOutputs };
}

async function resolveOutput(pulumi: typeof import("@pulumi/pulumi"), value: unknown): Promise<unknown> {
    const out = pulumi.output(value as never) as unknown as { promise(): Promise<unknown>; isSecret: Promise<boolean> };
    const [resolved, secret] = await Promise.all([out.promise(), out.isSecret]);
    return secret ? { secret: true, value: resolved } : markSecrets(resolved);
}
