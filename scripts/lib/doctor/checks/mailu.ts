/**
 * Mailu at home, from inside, over SSH, read-only: the rendered compose project's containers
 * running (and healthy), the front published on the WireGuard address only, the deployed
 * mailu.env's trust settings equal to the render's, Mailu refusing SMTP without a PROXY header
 * (probed from the hub), Docker's raw drops behind homemail's egress exception, egress end to end
 * (a connection from the smtp container to a remote MX, SNATed by the VPS), the deferred queue and
 * the data root's free space. Every judge is a pure function of a command's output (unit-tested).
 */
import { parse } from "yaml";
import type { Model, SshTarget } from "../../../../components/config";
import { COMPOSE_PROJECT, MAILU_COMPOSE_PATH, MAILU_ENV_PATH, MAILU_SCRIPT_PATH } from "../../../../components/render/mailu";
import { Check, fail, Finding, ok, skipped, warn } from "../check";
import type { DoctorContext } from "../context";
import type { RenderSet } from "../inputs";
import { HostRole, sudoFor } from "../ssh";
import { EGRESS_SCRIPT } from "./inside";

type C = Check<DoctorContext>;

/** Where the egress check connects by default: a well-known MX that answers on port 25 from anywhere. */
export const DEFAULT_EGRESS_PROBE = "gmail-smtp-in.l.google.com";
const SMTP_PORT = 25;
/** The keys of mailu.env that decide whom Mailu trusts; the only ones the doctor reads. */
export const TRUST_KEYS = ["REAL_IP_FROM", "PROXY_PROTOCOL"] as const;
/** Deferred queue: warn from this many messages or this age, fail from the second pair. */
export const QUEUE_WARN = { count: 20, ageSeconds: 3600 };
export const QUEUE_FAIL = { count: 200, ageSeconds: 86_400 };
/** Data root's file system: warn from this share used, fail from the second. */
export const DISK_WARN_PERCENT = 85;
export const DISK_FAIL_PERCENT = 95;

const compose = ["docker", "compose", "-f", MAILU_COMPOSE_PATH];
export const oneLine = (text: string, max = 160) => {
    const line = text.trim().split("\n").filter(Boolean)[0] ?? "";
    return line.length > max ? `${line.slice(0, max)}...` : line;
};

// ---------------------------------------------------------------------------------------------------
// the render

/** The rendered compose project: each service and the host ports it publishes (`ADDR:HOST:CONTAINER`). */
export const MAILU_CONTAINERS_CHECK = "inside.mailu-containers:home";

/**
 * `after` for a check that reaches Mailu: Mailu found not running explains its failure in advance
 * (one cause, one fail). Only when the render has Mailu's compose file: the containers check
 * exists only then.
 */
export const afterMailuRunning = (render: RenderSet | undefined): string[] => (render && renderedServices(render).length > 0 ? [MAILU_CONTAINERS_CHECK] : []);

export function renderedServices(render: RenderSet, file = `home:${MAILU_COMPOSE_PATH}`): { name: string; ports: string[] }[] {
    const text = render.files.get(file);
    if (text === undefined) return [];
    const doc = parse(String(text)) as { services?: Record<string, { ports?: string[] }> };
    return Object.entries(doc.services ?? {}).map(([name, s]) => ({ name, ports: (s.ports ?? []).map(String) }));
}

/** KEY=value lines (comments and blank lines ignored), only the `keys` asked for. */
export function envValues(text: string, keys: readonly string[]): Record<string, string> {
    const values: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
        if (m && keys.includes(m[1])) values[m[1]] = m[2];
    }
    return values;
}

// ---------------------------------------------------------------------------------------------------
// docker compose ps

export interface ComposeContainer {
    readonly Name: string;
    readonly Service: string;
    readonly State: string;
    /** `healthy`, `unhealthy`, `starting`, or empty without a healthcheck. */
    readonly Health?: string;
    readonly Status?: string;
    readonly Publishers?: readonly { URL: string; TargetPort: number; PublishedPort: number; Protocol: string }[];
}

/** `docker compose ps --all --format json`: one object a line (Compose >= 2.21) or one array (older). */
export function parseComposePs(text: string): ComposeContainer[] {
    const trimmed = text.trim();
    if (trimmed === "") return [];
    if (trimmed.startsWith("[")) return JSON.parse(trimmed) as ComposeContainer[];
    return trimmed.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as ComposeContainer);
}

/** Every rendered service has a running container, healthy where it has a healthcheck. */
/**
 * `docker compose ps` of a project on a host, asked once per doctor run however many checks read it
 * (the checks are built anew for each run).
 */
export function composePsOnce(role: HostRole, composePath: string): (c: DoctorContext) => Promise<{ ps?: ComposeContainer[]; error: string }> {
    let asked: Promise<{ ps?: ComposeContainer[]; error: string }> | undefined;
    return (c) =>
        (asked ??= c.ssh(role, ["docker", "compose", "-f", composePath, "ps", "--all", "--format", "json"]).then((r) =>
            r.status === 0 ? { ps: parseComposePs(r.stdout), error: "" } : { error: `\`docker compose -f ${composePath} ps\` failed (exit ${r.status}): ${oneLine(r.stderr || r.stdout)}` },
        ));
}

/** Where a compose project lives and the command that brings it up (what a fix tells the user). */
export interface ComposeProject {
    readonly composePath: string;
    /** e.g. `on home: \`homemail-mailu up\`` (without sudo: it is added for a non-root user). */
    readonly up: (sudo: string) => string;
}

export const MAILU_PROJECT: ComposeProject = { composePath: MAILU_COMPOSE_PATH, up: (sudo) => `on home: \`${sudo}${MAILU_SCRIPT_PATH} up\`` };

export function containersFinding(services: readonly string[], ps: readonly ComposeContainer[], t: SshTarget, project: ComposeProject = MAILU_PROJECT): Finding {
    const logs = (s: string) => `\`${sudoFor(t)}docker compose -f ${project.composePath} logs ${s}\``;
    const up = project.up(sudoFor(t));
    const missing = services.filter((s) => !ps.some((c) => c.Service === s));
    if (missing.length) return fail(`no container for ${missing.join(", ")} (of ${services.length} rendered services)`, `${up} (it starts every service and waits until healthy)`);
    const down = ps.filter((c) => services.includes(c.Service) && c.State !== "running");
    if (down.length) return fail(`not running: ${down.map((c) => `${c.Service} (${c.Status || c.State})`).join(", ")}`, `${up}; why it stopped: ${logs(down[0].Service)}`);
    const unhealthy = ps.filter((c) => services.includes(c.Service) && c.Health === "unhealthy");
    if (unhealthy.length) return fail(`unhealthy: ${unhealthy.map((c) => c.Service).join(", ")}`, `see ${logs(unhealthy[0].Service)}, then ${up}`);
    const starting = ps.filter((c) => services.includes(c.Service) && c.Health === "starting");
    if (starting.length) return warn(`still starting: ${starting.map((c) => c.Service).join(", ")}`, `wait a minute and re-run; if it stays, ${logs(starting[0].Service)}`);
    const checked = ps.filter((c) => services.includes(c.Service) && c.Health === "healthy").length;
    return ok(`${services.length} services running, ${checked} healthy by their healthcheck`);
}

/** What Docker publishes equals the port table's home ports, on the WireGuard address and nowhere else. */
export function publishedFinding(ps: readonly ComposeContainer[], wgAddress: string, homePorts: readonly number[], t: SshTarget): Finding {
    const fix = `\`pulumi up\` (it rewrites ${MAILU_COMPOSE_PATH} from the port table), then on home \`${sudoFor(t)}${MAILU_SCRIPT_PATH} up\``;
    const published = ps.flatMap((c) => (c.Publishers ?? []).filter((p) => p.PublishedPort > 0).map((p) => ({ ...p, service: c.Service })));
    const elsewhere = published.filter((p) => p.URL !== wgAddress);
    if (elsewhere.length) return fail(`published beyond the WireGuard address: ${elsewhere.map((p) => `${p.service} ${p.URL}:${p.PublishedPort}`).join(", ")}`, fix);
    const missing = homePorts.filter((port) => !published.some((p) => p.PublishedPort === port));
    if (missing.length) return fail(`not published on ${wgAddress}: port ${missing.join(", ")} (from the port table)`, fix);
    const extra = [...new Set(published.map((p) => p.PublishedPort))].filter((port) => !homePorts.includes(port));
    if (extra.length) return fail(`published on ${wgAddress} but not in the port table: ${extra.join(", ")}`, fix);
    return ok(`${homePorts.length} ports on ${wgAddress} only (${[...homePorts].sort((a, b) => a - b).join(",")})`);
}

// ---------------------------------------------------------------------------------------------------
// mailu.env, the PROXY probe

export function trustFinding(deployed: Record<string, string>, rendered: Record<string, string>, t: SshTarget): Finding {
    const drift = TRUST_KEYS.filter((k) => deployed[k] !== rendered[k]);
    if (drift.length === 0) return ok(TRUST_KEYS.map((k) => `${k}=${rendered[k]}`).join(" "));
    return fail(
        `${MAILU_ENV_PATH}: ${drift.map((k) => `${k} is ${deployed[k] === undefined ? "missing" : `"${deployed[k]}"`}, the render says "${rendered[k]}"`).join("; ")}`,
        `\`pulumi up\` (it rewrites ${MAILU_ENV_PATH}), or set ${drift.map((k) => `${k}=${rendered[k]}`).join(" ")} there and run on home \`${sudoFor(t)}${MAILU_SCRIPT_PATH} up\``,
    );
}

/**
 * The hub's probe of home's SMTP port: `plain:` what came back without a PROXY header (nothing or
 * a refusal is right), `proxied:` what came back after one (a 220 shows the port is Mailu's).
 */
export function proxyProbeFinding(output: string, target: string, t: SshTarget): Finding {
    const line = (tag: string) => new RegExp(`^${tag}: ?(.*)$`, "m").exec(output)?.[1]?.trim() ?? "";
    const plain = line("plain");
    if (/^220[ -]/.test(plain)) {
        return fail(`${target} greets a client that sent no PROXY header (${oneLine(plain, 80)}): Mailu does not require the hub's PROXY header on port 25, so it cannot tell senders apart (rate limits, SPF, logs)`, `\`pulumi up\` (PROXY_PROTOCOL in ${MAILU_ENV_PATH} must list 25), then on home \`${sudoFor(t)}${MAILU_SCRIPT_PATH} up\``);
    }
    const proxied = line("proxied");
    if (!/^220[ -]/.test(proxied)) return warn(`${target}: no banner without a PROXY header, but none with one either (${proxied || "no answer"}): nothing proves Mailu is what answers there`, `see inside.mailu-containers:home and \`${sudoFor(t)}docker compose -f ${MAILU_COMPOSE_PATH} logs front\``);
    return ok(`without a PROXY header: ${oneLine(plain, 50) || "closed"}; with one: ${oneLine(proxied, 60)}`);
}

/**
 * bash on the hub: connect twice to ADDR:25 and print the first line each attempt read within 3 s.
 * Plain: a QUIT where the PROXY header belongs, so that a front expecting one answers at once (it
 * closes, or Postfix says 421) and an MTA trusting unproxied clients greets (220) as it would anyone.
 * Proxied: a PROXY v1 header from the hub's address, then the banner shows what answers there.
 */
export const PROXY_PROBE_SCRIPT = [
    'attempt() { if ! exec 3<>"/dev/tcp/$1/25"; then echo "refused"; return; fi',
    '  if [ -z "$3" ]; then printf "QUIT\\r\\n" >&3; else printf "PROXY TCP4 %s %s 40000 25\\r\\n" "$2" "$1" >&3; fi',
    '  if IFS= read -r -t 3 l <&3; then printf "%s\\n" "${l%$\'\\r\'}"; elif [ $? -gt 128 ]; then echo "no answer"; else echo "closed"; fi',
    '  printf "QUIT\\r\\n" >&3 2>/dev/null; exec 3<&- 3>&-; }',
    'printf "plain: %s\\n" "$(attempt "$1" "$2" "")"',
    'printf "proxied: %s\\n" "$(attempt "$1" "$2" 1)"',
].join("\n");

// ---------------------------------------------------------------------------------------------------
// iptables raw

/** `iptables -t raw -S PREROUTING`: homemail's tagged ACCEPT must precede every DROP for Mailu's subnet. */
export function rawOrderFinding(rules: string, isMailuAddress: (ip: string) => boolean, t: SshTarget): Finding {
    const lines = rules.split("\n").filter((l) => l.startsWith("-A PREROUTING"));
    const ours = lines.findIndex((l) => l.includes("homemail-smtp-egress") && / -j ACCEPT\b/.test(l));
    const drops = lines.map((l, i) => ({ l, i })).filter(({ l }) => / -j DROP\b/.test(l) && isMailuAddress(/ -d (\d+\.\d+\.\d+\.\d+)/.exec(l)?.[1] ?? ""));
    // Its absence is the egress verify's finding (inside.egress:home), not a second one here.
    if (ours < 0) return ok(`homemail's exception is not in raw PREROUTING (egress verify reports it); ${drops.length} Docker drop(s)`);
    const ahead = drops.filter(({ i }) => i < ours);
    if (ahead.length) {
        return fail(`Docker's raw drop \`${ahead[0].l}\` comes before homemail's SMTP-reply exception: replies from the MX over wg0 are dropped (as after a Docker restart)`, `on home: \`${sudoFor(t)}${EGRESS_SCRIPT} reapply\``);
    }
    return ok(`homemail's exception is rule ${ours + 1}; ${drops.length} Docker drop(s) after it`);
}

// ---------------------------------------------------------------------------------------------------
// egress end to end

/** bash in the smtp container's network namespace: connect to MX:25, show the socket, read the banner. */
export const EGRESS_PROBE_SCRIPT = [
    'exec 3<>"/dev/tcp/$1/25" || exit 3',
    'ss -Htn state established dst "$1" dport = :25 | sed "s/^/socket: /"',
    'if IFS= read -r -t 5 l <&3; then printf "banner: %s\\n" "${l%$\'\\r\'}"; fi',
    'printf "QUIT\\r\\n" >&3 2>/dev/null || true',
].join("\n");

/** From the probe's `socket:` line (`RECVQ SENDQ LOCAL:PORT PEER:PORT`): the container's address and port. */
export function probeSocket(output: string): { address: string; port: number } | undefined {
    const m = /^socket:\s+\d+\s+\d+\s+(\d+\.\d+\.\d+\.\d+):(\d+)\s/m.exec(output);
    return m ? { address: m[1], port: Number(m[2]) } : undefined;
}

/** `conntrack -L` lines for the probe's flow: its reply must be addressed to the VPS's public IP (SNAT). */
export function conntrackFinding(lines: string, flow: { address: string; port: number; mx: string }, snatTo: string | undefined, homeWanIp: string): Finding {
    const entries = lines.split("\n").filter((l) => /^tcp\s/.test(l));
    const mine = entries.find((l) => l.includes(`src=${flow.address} `) && l.includes(`sport=${flow.port} `));
    const fix = `on the VPS: \`${EGRESS_SCRIPT} reapply\` (its SNAT rule), and on home the same`;
    if (!mine) return fail(`the VPS has no conntrack entry for ${flow.address}:${flow.port} -> ${flow.mx}:25: the container's SMTP did not leave through the tunnel`, `on home: \`${EGRESS_SCRIPT} verify\`, then ${fix}`);
    const reply = /src=\S+ dst=\S+ sport=\S+ dport=\S+ .*?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/.exec(mine);
    const replyTo = reply?.[2];
    if (!replyTo || replyTo === flow.address) return fail(`the VPS forwards ${flow.address}:${flow.port} -> ${flow.mx}:25 without SNAT: the MX would see a private address`, fix);
    if (replyTo === homeWanIp) return fail(`${flow.mx} sees the flow from the home IP ${homeWanIp}`, fix);
    if (snatTo !== undefined && replyTo !== snatTo) return fail(`the flow is SNATed to ${replyTo}, not the VPS's public IP ${snatTo}`, fix);
    return ok(`${flow.address}:${flow.port} -> ${flow.mx}:25 leaves the VPS as ${replyTo}`);
}

// ---------------------------------------------------------------------------------------------------
// queue, disk

interface QueuedMessage {
    readonly queue_name: string;
    readonly arrival_time: number;
    readonly recipients?: readonly { delay_reason?: string }[];
}

/** `postqueue -j` (one JSON object a message) against the home host's clock. */
export function queueFinding(output: string, now: number, t: SshTarget): Finding {
    const messages = output.split("\n").filter((l) => l.trim().startsWith("{")).map((l) => JSON.parse(l) as QueuedMessage);
    const deferred = messages.filter((m) => m.queue_name === "deferred");
    if (deferred.length === 0) return ok(`no deferred mail (${messages.length} in the queue)`);
    const oldest = Math.max(0, now - Math.min(...deferred.map((m) => m.arrival_time)));
    const reason = oneLine(deferred.flatMap((m) => m.recipients ?? []).find((r) => r.delay_reason)?.delay_reason ?? "", 120);
    const detail = `${deferred.length} deferred, the oldest ${formatAge(oldest)} old${reason ? `; e.g. ${reason}` : ""}`;
    const fix = `on home: \`${sudoFor(t)}docker compose -f ${MAILU_COMPOSE_PATH} exec -T smtp postqueue -p\` shows why; once fixed, \`... exec -T smtp postqueue -f\` retries`;
    if (deferred.length >= QUEUE_FAIL.count || oldest >= QUEUE_FAIL.ageSeconds) return fail(detail, fix);
    if (deferred.length >= QUEUE_WARN.count || oldest >= QUEUE_WARN.ageSeconds) return warn(detail, fix);
    return ok(detail);
}

const formatAge = (s: number) => (s >= 86_400 ? `${(s / 86_400).toFixed(1)} d` : s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${Math.round(s / 60)} min` : `${s} s`);

/** `df -P -k PATH`: the share used of the file system holding Mailu's data root. */
export function diskFinding(output: string, dataRoot: string): Finding {
    const row = output.trim().split("\n").slice(1).join(" ").trim().split(/\s+/);
    const [fs, , , available, capacity, mount] = row;
    const used = Number(capacity?.replace("%", ""));
    if (!Number.isFinite(used) || mount === undefined) return fail(`df ${dataRoot}: unexpected output ${oneLine(output, 80)}`, `on home: \`df -P ${dataRoot}\``);
    const detail = `${used}% used, ${(Number(available) / 1024 / 1024).toFixed(1)} GiB free on ${mount} (${fs})`;
    const fix = `free space on ${mount}: \`du -xsh ${dataRoot}/*\` shows what Mailu keeps (mail, queue, filter), or grow the file system`;
    if (used >= DISK_FAIL_PERCENT) return fail(detail, fix);
    if (used >= DISK_WARN_PERCENT) return warn(detail, fix);
    return ok(detail);
}

// ---------------------------------------------------------------------------------------------------
// the checks

export interface MailuCheckOptions {
    /** Host (or address) of a remote MX the egress check connects to on port 25. */
    readonly egressProbe?: string;
}

const ipv4ToNumber = (ip: string) => ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
function inCidr(cidr: string): (ip: string) => boolean {
    const [base, len] = cidr.split("/");
    const size = 2 ** (32 - Number(len));
    const start = Math.floor(ipv4ToNumber(base) / size) * size;
    return (ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip) && ipv4ToNumber(ip) >= start && ipv4ToNumber(ip) < start + size;
}

export function mailuChecks(ctx: Pick<DoctorContext, "model" | "render">, opts: MailuCheckOptions = {}): C[] {
    const { model, render } = ctx;
    const home = model.home.ssh;
    const a = model.addresses;
    const services = renderedServices(render);
    const renderedEnv = render.files.get(`home:${MAILU_ENV_PATH}`);
    const psOf = composePsOnce("home", MAILU_COMPOSE_PATH);
    const engineFix = `on home: \`${sudoFor(home)}${MAILU_SCRIPT_PATH} preflight\` says what is missing (Docker engine, compose plugin)`;

    const containers: C = {
        id: MAILU_CONTAINERS_CHECK,
        area: "inside",
        title: `Mailu's ${services.length} compose services running and healthy`,
        needs: ["inside.ssh:home"],
        run: async (c) => {
            const r = await psOf(c);
            if (!r.ps) return fail(r.error, engineFix);
            return containersFinding(services.map((s) => s.name), r.ps, home);
        },
    };
    const ports: C = {
        id: "inside.mailu-ports:home",
        area: "inside",
        title: `Mailu's front published on the WireGuard address ${a.wgSpoke} only`,
        needs: ["inside.ssh:home"],
        after: [containers.id],
        run: async (c) => {
            const r = await psOf(c);
            if (!r.ps) return fail(r.error, engineFix);
            const publishing = services.filter((s) => s.ports.length).map((s) => s.name);
            if (!r.ps.some((p) => publishing.includes(p.Service) && p.State === "running")) return skipped(`${publishing.join(", ")} not running (see ${containers.id})`);
            return publishedFinding(r.ps, a.wgSpoke, model.ports.map((p) => p.homePort), home);
        },
    };
    const env: C = {
        id: "inside.mailu-env:home",
        area: "inside",
        title: `${MAILU_ENV_PATH}: ${TRUST_KEYS.join(", ")} as rendered`,
        needs: ["inside.ssh:home"],
        run: async (c) => {
            // Only these keys leave the host: the file may hold secrets in other keys.
            const r = await c.ssh("home", ["grep", "-E", `^(${TRUST_KEYS.join("|")})=`, MAILU_ENV_PATH]);
            if (r.status > 1) return fail(`${MAILU_ENV_PATH} on home: ${oneLine(r.stderr) || `grep exit ${r.status}`}`, "`pulumi up` (it writes the file)");
            return trustFinding(envValues(r.stdout, TRUST_KEYS), envValues(String(renderedEnv), TRUST_KEYS), home);
        },
    };
    const proxyRequired: C = {
        id: "inside.mailu-proxy-required:home",
        area: "inside",
        title: `from the VPS, ${a.wgSpoke}:${SMTP_PORT} without a PROXY header gets no SMTP banner`,
        needs: ["inside.ssh:vps"],
        // Through a dead tunnel, or with Mailu down, nothing answers, which proves nothing.
        after: ["inside.wg:vps", "inside.wg:home", ...afterMailuRunning(render)],
        run: async (c) => {
            const r = await c.ssh("vps", ["timeout", "15", "bash", "-c", PROXY_PROBE_SCRIPT, "probe", a.wgSpoke, a.wgHub]);
            return proxyProbeFinding(r.stdout, `${a.wgSpoke}:${SMTP_PORT}`, home);
        },
    };
    // The checks against the render exist where it has Mailu's files (the doctor's render always does).
    const whenRunning = afterMailuRunning(render);
    const queue: C = {
        id: "inside.mailu-queue:home",
        area: "inside",
        title: `Mailu's deferred queue (warn from ${QUEUE_WARN.count} or ${QUEUE_WARN.ageSeconds / 3600} h, fail from ${QUEUE_FAIL.count} or ${QUEUE_FAIL.ageSeconds / 3600} h)`,
        needs: ["inside.ssh:home"],
        after: whenRunning,
        run: async (c) => {
            const r = await c.ssh("home", [...compose, "exec", "-T", "smtp", "postqueue", "-j"]);
            if (r.status !== 0) return fail(`postqueue -j in the smtp container failed (exit ${r.status}): ${oneLine(r.stderr || r.stdout)}`, `on home: \`${sudoFor(home)}docker compose -f ${MAILU_COMPOSE_PATH} logs smtp\``);
            const now = Number((await c.ssh("home", ["date", "+%s"])).stdout.trim());
            return queueFinding(r.stdout, now, home);
        },
    };
    const disk: C = {
        id: "inside.mailu-disk:home",
        area: "inside",
        title: `free space of Mailu's data root ${model.mailu.dataRoot} (warn from ${DISK_WARN_PERCENT}% used, fail from ${DISK_FAIL_PERCENT}%)`,
        needs: ["inside.ssh:home"],
        run: async (c) => {
            const r = await c.ssh("home", ["df", "-P", "-k", model.mailu.dataRoot]);
            if (r.status !== 0) return fail(`df ${model.mailu.dataRoot} on home: ${oneLine(r.stderr)}`, `on home: \`${sudoFor(home)}${MAILU_SCRIPT_PATH} up\` creates it (or \`pulumi up\`)`);
            return diskFinding(r.stdout, model.mailu.dataRoot);
        },
    };
    const egress: C[] = [];
    if (model.egress.enabled) {
        const isMailu = inCidr(a.mailuSubnet);
        const probeHost = opts.egressProbe ?? DEFAULT_EGRESS_PROBE;
        const raw: C = {
            id: "inside.docker-raw:home",
            area: "inside",
            title: "Docker's raw drops come after homemail's SMTP-reply exception",
            needs: ["inside.ssh:home"],
            run: async (c) => {
                const r = await c.ssh("home", ["iptables", "-w", "-t", "raw", "-S", "PREROUTING"]);
                if (r.status !== 0) return fail(`iptables -t raw -S PREROUTING on home: ${oneLine(r.stderr)}`, `on home: \`${sudoFor(home)}${EGRESS_SCRIPT} verify\``);
                return rawOrderFinding(r.stdout, isMailu, home);
            },
        };
        egress.push(raw, {
            id: "inside.egress-path:home",
            area: "inside",
            title: `SMTP from the smtp container to ${probeHost}:25 leaves by the VPS (conntrack SNAT)`,
            needs: ["inside.ssh:home", "inside.ssh:vps"],
            after: [...whenRunning, raw.id, "inside.wg:home", "inside.wg:vps", "inside.egress:home", "inside.egress:vps"],
            run: async (c) => egressPath(c, model, probeHost, isMailu),
        });
    }
    return [...(services.length > 0 ? [containers, ports] : []), ...(renderedEnv !== undefined ? [env] : []), proxyRequired, ...egress, queue, disk];
}

/**
 * In the smtp container's network namespace (its PID from `docker inspect`, entered by the host's
 * nsenter: nothing depends on the image), the probe script; one command line that is the same on
 * every run (no PID, no port in it). Exit 4: no running container of that name.
 */
export const CONTAINER_PROBE_SCRIPT = [
    'pid=$(docker inspect --format "{{.State.Pid}}" "$1") && [ "${pid:-0}" -gt 0 ] || { echo "no PID for $1: ${pid:-none}" >&2; exit 4; }',
    'exec nsenter -t "$pid" -n timeout 15 bash -c "$2" probe "$3"',
].join("\n");

async function egressPath(c: DoctorContext, model: Model, probeHost: string, isMailu: (ip: string) => boolean): Promise<Finding> {
    const home = model.home.ssh;
    const a = model.addresses;
    const resolved = await c.ssh("home", ["getent", "ahostsv4", probeHost]);
    const mx = /^(\d+\.\d+\.\d+\.\d+)\s/m.exec(resolved.stdout)?.[1];
    if (!mx) return warn(`home cannot resolve ${probeHost}: no egress probe`, `check home's resolver (\`getent ahostsv4 ${probeHost}\`), or name another MX with --egress-probe HOST`);
    const ps = await c.ssh("home", [...compose, "ps", "--format", "json", "smtp"]);
    const name = ps.status === 0 ? parseComposePs(ps.stdout).find((p) => p.Service === "smtp")?.Name : undefined;
    if (!name) return fail(`no running smtp container of the ${COMPOSE_PROJECT} project`, `on home: \`${sudoFor(home)}${MAILU_SCRIPT_PATH} up\``);
    const probe = await c.ssh("home", ["bash", "-c", CONTAINER_PROBE_SCRIPT, "egress-probe", name, EGRESS_PROBE_SCRIPT, mx]);
    if (probe.status === 4) return fail(`docker inspect ${name}: ${oneLine(probe.stderr)}`, `on home: \`${sudoFor(home)}docker compose -f ${MAILU_COMPOSE_PATH} restart smtp\``);
    const socket = probeSocket(probe.stdout);
    const fix = `on home: \`${sudoFor(home)}${EGRESS_SCRIPT} verify\` and on the VPS the same; \`${EGRESS_SCRIPT} reapply\` repairs`;
    if (probe.status !== 0 || !socket) return fail(`the smtp container (${name}) could not connect to ${probeHost} (${mx}):25 (exit ${probe.status}${oneLine(probe.stderr) ? `: ${oneLine(probe.stderr)}` : ""})`, fix);
    if (!isMailu(socket.address)) return fail(`the probe left from ${socket.address}, not from Mailu's subnet ${a.mailuSubnet}`, fix);
    // No port in the filter: the judge picks the probe's entry by its port.
    const ct = await c.ssh("vps", ["conntrack", "-L", "-p", "tcp", "-s", socket.address, "-d", mx, "--dport", "25"]);
    if (ct.status !== 0 && /not found|No such file/.test(ct.stderr + ct.stdout)) {
        return warn(`connected to ${probeHost}:25, but the VPS has no conntrack tool to prove the SNAT`, `on the VPS: \`${sudoFor(model.vps.ssh)}apt-get install conntrack\``);
    }
    if (ct.status !== 0 && !/flow entries/.test(ct.stderr)) return fail(`conntrack -L on the VPS failed (exit ${ct.status}): ${oneLine(ct.stderr)}`, `on the VPS: \`${sudoFor(model.vps.ssh)}conntrack -L\` must run (module nf_conntrack)`);
    return conntrackFinding(ct.stdout, { ...socket, mx }, a.vpsOneToOneNat ? undefined : a.vpsPublicIp, a.homeWanIp);
}
