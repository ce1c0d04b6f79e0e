/**
 * AcmeDnsToken: the one Cloudflare API token the VPS's ACME client (Traefik's `cf-dns` resolver)
 * uses for dns-01 challenges. Narrow on purpose: Zone Read + DNS Write, on exactly this stack's
 * zones, usable only from the VPS public IP. What it may do is decided by the pure
 * `acmeTokenSpec` (components/render/dns.ts); this file looks up permission-group ids and creates it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as cloudflare from "@pulumi/cloudflare";
import type { Model } from "./config/model";
import { acmeTokenSpec, ZONE_PERMISSION_SCOPE } from "./render/dns";

/** Arguments of {@link AcmeDnsToken}. */
export interface AcmeDnsTokenArgs {
    /**
     * The validated model: the token covers `model.cloudflare.zones` and is usable only from
     * `model.addresses.vpsPublicIp`. Example: `loadModel()`.
     */
    readonly model: Pick<Model, "project" | "stack" | "cloudflare" | "addresses">;
}

/** Picks permission-group ids by exact name; throws naming what is missing (never a partial token). */
export function permissionGroupIds(groups: readonly { id: string; name: string }[], names: readonly string[]): string[] {
    return names.map((n) => {
        const hits = groups.filter((g) => g.name === n);
        if (hits.length !== 1) {
            throw new Error(`Cloudflare permission group "${n}" (scope ${ZONE_PERMISSION_SCOPE}) found ${hits.length} times; the token needs exactly one`);
        }
        return hits[0].id;
    });
}

export class AcmeDnsToken extends pulumi.ComponentResource {
    /** The token value (secret), for the gateway's `cf_dns_api_token` file. */
    public readonly token: pulumi.Output<string>;
    /** Token id (not secret): find it in the dashboard to roll or revoke it. */
    public readonly tokenId: pulumi.Output<string>;
    /** Token name, zones and allowed client addresses (not secret). */
    public readonly summary: { readonly name: string; readonly zones: readonly string[]; readonly allowedFrom: readonly string[]; readonly permissions: readonly string[] };

    constructor(name: string, args: AcmeDnsTokenArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homemail:dns:AcmeDnsToken", name, {}, opts);
        const spec = acmeTokenSpec(args.model);

        // Ids come from Cloudflare's own list (by exact name within the zone scope), not from
        // constants copied from a blog: a renamed group then fails the deploy instead of granting
        // something else. The scope needs no URL encoding; names are matched here, not filtered there.
        const groups = cloudflare.getApiTokenPermissionGroupsListOutput({ scope: ZONE_PERMISSION_SCOPE }, { parent: this });
        const ids = groups.results.apply((results) => permissionGroupIds(results ?? [], spec.permissionGroups));

        const token = new cloudflare.ApiToken(
            `${name}-token`,
            {
                name: spec.name,
                policies: [{ effect: "allow", permissionGroups: ids.apply((xs) => xs.map((id) => ({ id }))), resources: spec.resources }],
                condition: { requestIp: { ins: [...spec.allowedFrom] } },
            },
            { parent: this },
        );

        this.token = pulumi.secret(token.value);
        this.tokenId = token.id;
        this.summary = { name: spec.name, zones: spec.zones, allowedFrom: spec.allowedFrom, permissions: spec.permissionGroups };
        this.registerOutputs({ token: this.token, tokenId: this.tokenId, summary: this.summary });
    }
}
