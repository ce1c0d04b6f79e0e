/**
 * The rendered gateway files checked by real consumer tools: ajv against the upstream JSON schemas
 * in ../shared/schemas (Traefik v3 static and file provider: strict; Compose: draft 2020-12, strict
 * off as the schema itself requires), Debian's `haproxy -c`, shellcheck on the host scripts, and the
 * preflight script's verdicts with stand-in `docker` binaries.
 */
import { systemPathWithout } from "../helpers/pathWithout";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import Ajv from "ajv";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { parseModel } from "../../components/config";
import { REPO_ROOT, devModel, withConfig } from "../helpers/stack";
import { parseGateway } from "../helpers/gateway";

const SCHEMAS = path.resolve(REPO_ROOT, "..", "shared", "schemas");
const schema = (name: string) => JSON.parse(readFileSync(path.join(SCHEMAS, name), "utf8")) as object;

const variants = {
    dev: devModel(),
    existingTraefik: parseModel(withConfig([{ key: "homemail:gateway", value: { existingTraefikDynamicDir: "/opt/traefik/dynamic" } }])),
    twoDomains: parseModel(withConfig([
        { key: "homemail:extraDomains", value: ["mail2.example.com"] },
        { key: "homemail:extraHostnames", value: ["webmail.example.com"] },
    ])),
};

describe("rendered gateway files pass the upstream schemas", () => {
    it("finds ../shared/schemas beside the repository", () => {
        expect(existsSync(path.join(SCHEMAS, "traefik-v3.json"))).toBe(true);
    });

    const traefikStatic = () => new Ajv({ strict: true, allErrors: true }).compile(schema("traefik-v3.json"));
    const traefikDynamic = () => new Ajv({ strict: true, allErrors: true }).compile(schema("traefik-v3-file-provider.json"));
    const compose = () => {
        const ajv = new Ajv2020({ strict: false, allErrors: true });
        addFormats(ajv);
        return ajv.compile(schema("compose-spec.json"));
    };

    it.each(Object.entries(variants))("%s: traefik.yml, dynamic/homemail.yml and compose.yaml validate", (_name, model) => {
        const g = parseGateway(model);
        for (const [validate, doc] of [
            ...(g.traefikStatic ? [[traefikStatic(), g.traefikStatic] as const] : []),
            [traefikDynamic(), g.traefikDynamic] as const,
            [compose(), g.compose] as const,
        ]) {
            const ok = validate(doc);
            expect(validate.errors ?? []).toEqual([]);
            expect(ok).toBe(true);
        }
    });

    it("the static schema does catch a mistake (the check is not vacuous)", () => {
        const g = parseGateway(variants.dev);
        const broken = { ...g.traefikStatic, entryPoints: { ...g.traefikStatic.entryPoints, web: { ...g.traefikStatic.entryPoints.web, http3: false, allowAcmeBypass: true } } };
        expect(traefikStatic()(broken)).toBe(false);
        expect(compose()({ ...g.compose, services: { x: { image: 1 } } })).toBe(false);
    });
});

describe("haproxy -c (Debian's HAProxy) accepts the rendered haproxy.cfg", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "hm-haproxy-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.each(Object.entries(variants))("%s", (name, model) => {
        const file = path.join(dir, `${name}.cfg`);
        writeFileSync(file, parseGateway(model).render.haproxy.content);
        const r = spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8" });
        expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: expect.not.stringMatching(/ALERT|WARNING/) });
    });

    it("rejects a broken file (the check is not vacuous)", () => {
        const file = path.join(dir, "broken.cfg");
        writeFileSync(file, parseGateway(variants.dev).render.haproxy.content.replace("send-proxy-v2", "send-proxy-v9"));
        expect(spawnSync("haproxy", ["-c", "-f", file]).status).not.toBe(0);
    });
});

describe("gateway host scripts", () => {
    it.each(["firewall.sh", "preflight.sh"])("shellcheck passes %s", (script) => {
        const r = spawnSync("shellcheck", ["--severity=style", path.join(REPO_ROOT, "assets", "gateway", script)], { encoding: "utf8" });
        expect(r.stdout + r.stderr).toBe("");
        expect(r.status).toBe(0);
    });

    describe("preflight", () => {
        const bin = mkdtempSync(path.join(tmpdir(), "hm-preflight-"));
        afterAll(() => rmSync(bin, { recursive: true, force: true }));
        const script = path.join(REPO_ROOT, "assets", "gateway", "preflight.sh");
        // The system's commands without the ones preflight looks for: this machine may have them
        // (the real-run lab installs Docker); each test adds the stand-ins it wants in front.
        const bare = systemPathWithout(["docker", "iptables"], bin);
        /** A stand-in `docker` that reports the given versions (empty: that part is missing). */
        const fakeDocker = (server: string, compose: string) => {
            const dir = mkdtempSync(path.join(bin, "d-"));
            writeFileSync(
                path.join(dir, "docker"),
                `#!/bin/sh\ncase "$1 $2" in\n"version --format") [ -n "${server}" ] && echo "${server}" || exit 1;;\n"compose version") [ -n "${compose}" ] && echo "${compose}" || exit 1;;\nesac\n`,
            );
            chmodSync(path.join(dir, "docker"), 0o755);
            return dir;
        };
        const run = (dirs: string[], args: string[] = []) => {
            return spawnSync("bash", [script, ...args], { encoding: "utf8", env: { PATH: [...dirs, bare].join(":") } });
        };

        it("passes with a recent Docker Engine and compose plugin", () => {
            const r = run([fakeDocker("27.3.1", "v2.29.7")]);
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
        });

        it.each([
            ["no docker at all", [] as string[], /docker is not installed/],
            ["a stopped daemon", ["", "2.29.7"], /daemon does not answer/],
            ["an old engine", ["19.03.15", "2.29.7"], /Docker Engine 19\.03\.15 is too old/],
            ["no compose plugin", ["27.3.1", ""], /compose plugin \(v2\) is missing/],
            ["an old compose plugin", ["27.3.1", "2.12.2"], /docker compose 2\.12\.2 is too old/],
        ])("stops with a clear line for %s", (_t, versions, message) => {
            const r = run(versions.length ? [fakeDocker(versions[0], versions[1])] : []);
            expect(r.status).toBe(1);
            expect(r.stderr).toMatch(message);
            expect(r.stderr).toMatch(/nothing was changed/);
        });

        it("asks for iptables only when the firewall is on", () => {
            const docker = fakeDocker("27.3.1", "2.29.7");
            expect(run([docker], ["--firewall"]).stderr).toMatch(/iptables is missing/);
            expect(run([docker]).status).toBe(0);
        });
    });
});
