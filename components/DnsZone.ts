/**
 * DnsZone: every mail record of one Cloudflare zone, its DNSSEC, and the DKIM keys of the mail
 * domains in it. The records come from the pure renderer (components/render/dns.ts); this file only
 * turns them into Cloudflare resources.
 */
import * as pulumi from "@pulumi/pulumi";
import * as cloudflare from "@pulumi/cloudflare";
import * as tls from "@pulumi/tls";
import type { Model } from "./config/model";
import { DnsRecordSpec, dkimTxtValue, RegistrarDs, registrarDs, txtPresentation, zoneRecords } from "./render/dns";

/** Arguments of {@link DnsZone}. */
export interface DnsZoneArgs {
    /** The validated model; records are derived from it. Example: `loadModel()`. */
    readonly model: Model;
    /**
     * Name of the Cloudflare zone this component manages; must be one of `model.cloudflare.zones`.
     * Example: `"example.com"`.
     */
    readonly zone: string;
    /**
     * DKIM public keys (PEM) of main domains whose keys another DnsZone makes, by domain: needed when
     * an alternative domain in this zone belongs to a main domain in another zone. Keys of this
     * zone's own main domains are made here and need not be listed. Default `{}`.
     * Example: `{ "example.com": otherZone.dkimPublicKeys["example.com"] }`.
     */
    readonly dkimPublicKeys?: Readonly<Record<string, pulumi.Input<string>>>;
}

/** The DKIM record of one domain, as the stack output shows it. */
export interface DkimRecord {
    readonly domain: string;
    /** Domain whose key signs it (the domain itself, or an alternative domain's parent). */
    readonly keyOf: string;
    readonly name: string;
    readonly value: string;
}

export class DnsZone extends pulumi.ComponentResource {
    /** The zone name. */
    public readonly zoneName: string;
    /** The records this component manages (plain data, as rendered). */
    public readonly records: readonly DnsRecordSpec[];
    /** DKIM private key (PEM, PKCS#1, secret) of each main domain of this zone, for Mailu. */
    public readonly dkimPrivateKeys: Readonly<Record<string, pulumi.Output<string>>>;
    /** DKIM public key (PEM) of each main domain of this zone. */
    public readonly dkimPublicKeys: Readonly<Record<string, pulumi.Output<string>>>;
    /** Every DKIM TXT record of this zone (name and value). */
    public readonly dkim: pulumi.Output<DkimRecord[]>;
    /** The DS record the registrar must publish for this zone. */
    public readonly registrarDs: pulumi.Output<RegistrarDs>;

    constructor(name: string, args: DnsZoneArgs, opts?: pulumi.ComponentResourceOptions) {
        // No args to super: they would become the component's inputs, and a deferred DKIM key made
        // by this very component (or by a zone that waits for ours) would then deadlock registration.
        super("homemail:dns:DnsZone", name, {}, opts);
        const { model, zone } = args;

        // Validate before registering any child.
        const zoneEntry = model.cloudflare.zones.find((z) => z.name === zone);
        if (!zoneEntry) throw new Error(`DnsZone ${name}: args.zone "${zone}" is not one of the model's zones`);
        const records = zoneRecords(model, zone);
        const ownDomains = model.domains.filter((d) => d.zone === zone && d.kind !== "alternative").map((d) => d.name);
        for (const r of records) {
            if (r.data.type === "DKIM" && !ownDomains.includes(r.data.keyOf) && args.dkimPublicKeys?.[r.data.keyOf] === undefined) {
                throw new Error(`DnsZone ${name}: args.dkimPublicKeys has no key for ${r.data.keyOf} (needed by ${r.name})`);
            }
        }

        // DKIM keys: state is the backup (README); protect, so that no accidental replace or delete
        // changes the key behind mail already signed and in flight.
        const keys = Object.fromEntries(
            ownDomains.map((d) => [d, new tls.PrivateKey(`${name}-dkim-${d}`, { algorithm: "RSA", rsaBits: 2048 }, { parent: this, protect: true })]),
        );
        this.dkimPrivateKeys = Object.fromEntries(Object.entries(keys).map(([d, k]) => [d, pulumi.secret(k.privateKeyPem)]));
        this.dkimPublicKeys = Object.fromEntries(Object.entries(keys).map(([d, k]) => [d, k.publicKeyPem]));
        const publicKeyOf = (domain: string): pulumi.Output<string> => this.dkimPublicKeys[domain] ?? pulumi.output(args.dkimPublicKeys![domain]);

        const dkim: pulumi.Output<DkimRecord>[] = [];
        for (const r of records) {
            // Full names, as the API returns them ("@" or relative names show a diff on every run).
            const base = { zoneId: zoneEntry.id, name: r.name, ttl: r.ttl, comment: r.comment };
            const d = r.data;
            let recordArgs: cloudflare.DnsRecordArgs;
            switch (d.type) {
                case "A":
                    recordArgs = { ...base, type: "A", content: d.address, proxied: r.proxied };
                    break;
                case "MX":
                    recordArgs = { ...base, type: "MX", content: d.target, priority: d.priority };
                    break;
                // TXT content in presentation form (quoted 255-byte strings), as Cloudflare stores it.
                case "TXT":
                    recordArgs = { ...base, type: "TXT", content: txtPresentation(d.text) };
                    break;
                case "DKIM": {
                    const value = publicKeyOf(d.keyOf).apply(dkimTxtValue);
                    recordArgs = { ...base, type: "TXT", content: value.apply(txtPresentation) };
                    dkim.push(value.apply((v) => ({ domain: d.domain, keyOf: d.keyOf, name: r.name, value: v })));
                    break;
                }
                case "SRV":
                    // Cloudflare requires priority inside data for SRV, and its API also returns it at the top
                    // level: sent only inside data, the provider shows a diff on every run
                    // (terraform-provider-cloudflare #6684). So both, from the same value.
                    recordArgs = { ...base, type: "SRV", priority: d.priority, data: { priority: d.priority, weight: d.weight, port: d.port, target: d.target } };
                    break;
                case "CAA":
                    recordArgs = { ...base, type: "CAA", data: { flags: d.flags, tag: d.tag, value: d.value } };
                    break;
                default: {
                    const unreachable: never = d;
                    throw new Error(`DnsZone: unknown record data ${JSON.stringify(unreachable)}`);
                }
            }
            new cloudflare.DnsRecord(`${name}-${r.key}`, recordArgs, { parent: this });
        }

        // DNSSEC. Protected: deleting it while the registrar still has the DS makes the zone bogus
        // (every validating resolver then fails every name in it). README: "Retiring DNSSEC".
        const dnssec = new cloudflare.ZoneDnssec(`${name}-dnssec`, { zoneId: zoneEntry.id, status: "active" }, { parent: this, protect: true });

        this.zoneName = zone;
        this.records = records;
        this.dkim = pulumi.all(dkim);
        this.registrarDs = pulumi
            .all([dnssec.keyTag, dnssec.algorithm, dnssec.digestType, dnssec.digest])
            .apply(([keyTag, algorithm, digestType, digest]) => registrarDs(zone, { keyTag: Number(keyTag), algorithm: Number(algorithm), digestType: Number(digestType), digest }));

        this.registerOutputs({
            dkimPrivateKeys: this.dkimPrivateKeys,
            dkimPublicKeys: this.dkimPublicKeys,
            dkim: this.dkim,
            registrarDs: this.registrarDs,
        });
    }
}

/** Every zone of the model, and the DKIM private keys of all main domains. */
export interface DnsZones {
    /** One DnsZone per zone of `model.cloudflare.zones`, in that order. */
    readonly zones: readonly DnsZone[];
    /** DKIM private key (secret PEM) by main domain; alternative domains are signed with their parent's. */
    readonly dkimPrivateKeys: Readonly<Record<string, pulumi.Output<string>>>;
}

/**
 * One DnsZone per zone, named `dns-<zone>`. An alternative domain may sit in another zone than its
 * parent, whose public key it publishes (and two zones may need each other's keys): each main
 * domain's public key is passed as a deferred Output, resolved from the zone that makes the key.
 */
export function createDnsZones(model: Model, opts?: pulumi.ComponentResourceOptions): DnsZones {
    const links = new Map(model.domains.filter((d) => d.kind !== "alternative").map((d) => [d.name, pulumi.deferredOutput<string>()] as const));
    const shared = Object.fromEntries([...links].map(([domain, [key]]) => [domain, key]));
    const zones = model.cloudflare.zones.map((z) => new DnsZone(`dns-${z.name}`, { model, zone: z.name, dkimPublicKeys: shared }, opts));
    for (const [domain, [, resolve]] of links) {
        const owner = zones.find((z) => z.dkimPublicKeys[domain] !== undefined);
        if (!owner) throw new Error(`createDnsZones: no zone made the DKIM key of ${domain}`);
        resolve(owner.dkimPublicKeys[domain]);
    }
    return { zones, dkimPrivateKeys: Object.assign({}, ...zones.map((z) => z.dkimPrivateKeys)) };
}
