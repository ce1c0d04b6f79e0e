/**
 * Web: each domain's MTA-STS policy over HTTPS (parsed by mailauth, compared field by field with the
 * model), and every published WKD key over HTTPS (advanced method) with the expected fingerprint and
 * only the expected user IDs (read by openpgp.js).
 */
import { parsePolicy } from "mailauth/lib/mta-sts";
import * as openpgp from "openpgp";
import { wkdPath } from "../../../../components/render/wkdHash";
import { Check, fail, ok, warn } from "../check";
import type { DoctorContext } from "../context";
import { needsServersOf } from "./records";

type C = Check<DoctorContext>;

const MTA_STS_PATH = "/.well-known/mta-sts.txt";

/** The VPS path of a rendered public file that serves `urlPath` (for the fix line). */
function renderedPath(ctx: Pick<DoctorContext, "render">, urlPath: string): string | undefined {
    return [...ctx.render.files.keys()].find((k) => k.startsWith("vps:") && k.endsWith(urlPath))?.slice("vps:".length);
}

async function get(c: DoctorContext, host: string, path: string): Promise<{ status: number; body: Buffer; contentType: string } | { error: string }> {
    try {
        return await c.https(host, path);
    } catch (err) {
        return { error: err instanceof Error ? err.message : String(err) };
    }
}

export function webChecks(ctx: Pick<DoctorContext, "model" | "render">): C[] {
    const { model } = ctx;
    const checks: C[] = [];
    const restore = (path: string | undefined) => `run \`pulumi up\`: it writes ${path ?? "the WKD site's tree"} on the VPS (and reloads nginx)`;
    for (const d of model.domains) {
        checks.push({
            id: `web.mta-sts:${d.name}`,
            area: "web",
            title: `MTA-STS policy of ${d.name} over HTTPS`,
            needs: needsServersOf(d.mtaStsHost, model),
            // A certificate that does not verify explains an HTTPS failure already.
            after: [`tls.chain:${d.mtaStsHost}`],
            run: async (c) => {
                const url = `https://${d.mtaStsHost}${MTA_STS_PATH}`;
                const res = await get(c, d.mtaStsHost, MTA_STS_PATH);
                const fix = restore(renderedPath(c, MTA_STS_PATH));
                if ("error" in res) return fail(`${url}: ${res.error}`, `check the VPS's HTTPS front for ${d.mtaStsHost} (Traefik router and certificate); ${fix}`);
                if (res.status !== 200) return fail(`${url} answered HTTP ${res.status}`, fix);
                const text = res.body.toString("utf8");
                let policy;
                try {
                    policy = parsePolicy(text, { strict: true });
                } catch (err) {
                    return fail(`${url} is not a valid MTA-STS policy: ${err instanceof Error ? err.message : String(err)}`, fix);
                }
                c.facts.set(`mta-sts-policy:${d.name}`, text);
                const mx = (policy as { mx?: string[] }).mx ?? [];
                const wrong: string[] = [];
                if (policy.mode !== c.model.mtaSts.mode) wrong.push(`mode ${policy.mode} (stack: ${c.model.mtaSts.mode})`);
                if (mx.length !== 1 || mx[0] !== c.model.mailHost) wrong.push(`mx ${mx.join(",") || "(none)"} (stack: ${c.model.mailHost})`);
                if (policy.maxAge !== c.model.mtaSts.maxAgeSeconds) wrong.push(`max_age ${policy.maxAge} (stack: ${c.model.mtaSts.maxAgeSeconds})`);
                if (wrong.length > 0) return fail(`${url} serves ${wrong.join(", ")}`, fix);
                if (!/^text\/plain\b/i.test(res.contentType)) return warn(`${url} is served as ${res.contentType || "(no type)"}, RFC 8461 asks for text/plain`);
                return ok(`mode ${policy.mode}, mx ${mx[0]}, max_age ${policy.maxAge}`);
            },
        });
    }
    const policies = [...ctx.render.files.keys()]
        .map((k) => /^vps:.*\/\.well-known\/openpgpkey\/([^/]+)\/policy$/.exec(k)?.[1])
        .filter((x): x is string => x !== undefined)
        .sort();
    for (const domain of policies) {
        const host = model.domains.find((d) => d.name === domain)?.openpgpkeyHost ?? `openpgpkey.${domain}`;
        const path = `/.well-known/openpgpkey/${domain}/policy`;
        checks.push({
            id: `web.wkd-policy:${domain}`,
            area: "web",
            title: `WKD policy file of ${domain}`,
            needs: needsServersOf(host, model),
            after: [`tls.chain:${host}`],
            run: async (c) => {
                const res = await get(c, host, path);
                if ("error" in res) return fail(`https://${host}${path}: ${res.error}`, `check the VPS's HTTPS front for ${host}; ${restore(renderedPath(c, path))}`);
                if (res.status !== 200) return fail(`https://${host}${path} answered HTTP ${res.status}: WKD clients treat ${domain} as not taking part`, restore(renderedPath(c, path)));
                return ok(`https://${host}${path}: 200`);
            },
        });
    }
    for (const p of model.wkd.publications) {
        const host = model.domains.find((d) => d.name === p.domain)?.openpgpkeyHost ?? `openpgpkey.${p.domain}`;
        const path = wkdPath(p.domain, p.localPart);
        const query = `${path}?l=${encodeURIComponent(p.localPart.toLowerCase())}`;
        checks.push({
            id: `web.wkd:${p.address}`,
            area: "web",
            title: `WKD key of ${p.address}`,
            needs: needsServersOf(host, model),
            after: [`tls.chain:${host}`],
            run: async (c) => {
                const url = `https://${host}${query}`;
                const fix = restore(renderedPath(c, path));
                const res = await get(c, host, query);
                if ("error" in res) return fail(`${url}: ${res.error}`, `check the VPS's HTTPS front for ${host}; ${fix}`);
                if (res.status !== 200) return fail(`${url} answered HTTP ${res.status}: senders cannot find ${p.address}'s key`, fix);
                let key;
                try {
                    key = await openpgp.readKey({ binaryKey: new Uint8Array(res.body) });
                } catch (err) {
                    return fail(`${url} is not an OpenPGP key: ${err instanceof Error ? err.message : String(err)}`, fix);
                }
                const fingerprint = key.getFingerprint().toUpperCase();
                if (fingerprint !== p.fingerprint) return fail(`${url} serves key ${fingerprint}, the stack publishes ${p.fingerprint} (${p.configKey})`, fix);
                const ids = key.getUserIDs().sort();
                const want = [...p.userIds].sort();
                if (JSON.stringify(ids) !== JSON.stringify(want)) return fail(`${url} carries user IDs ${JSON.stringify(ids)}, the stack publishes only ${JSON.stringify(want)}`, fix);
                return ok(`${fingerprint}, user ID ${want.join(", ")}`);
            },
        });
    }
    return checks;
}
