/**
 * SSH host keys through the real program under the mock engine (issue 13 hole 10): every remote
 * command checks the configured key, the Docker providers' ssh trusts exactly a known_hosts file
 * built from it, and a real (non-example) stack without them is refused before anything registers.
 */
import { readFileSync } from "node:fs";
import { isSecretValue, plainValue, ProgramRun } from "../../scripts/lib/mockEngine";
import { registeredCount, runDevProgram } from "../helpers/program";
import { devValue, withConfig } from "../helpers/stack";

// Test-only public keys (made with ssh-keygen -t ed25519 for these tests; no private half is kept).
const VPS_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKMNit+uUezTp1kuahLCcgNpfz6QleZLI9N12W1DhveD";
const HOME_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFtdNLP9U24UbJV4+sbfXxBayQH39FZQJSh3eNL8k+7s";

const withKeys = () =>
    withConfig([
        { key: "homemail:vps", value: { ...devValue<Record<string, unknown>>("homemail:vps"), sshHostKey: `${VPS_KEY} root@vps` } },
        { key: "homemail:home", value: { ...devValue<Record<string, unknown>>("homemail:home"), sshHostKey: HOME_KEY } },
    ]);

describe("SSH host keys (homemail:vps.sshHostKey, homemail:home.sshHostKey)", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runDevProgram(withKeys());
    });

    it("go into the connection of every remote command, the right one per host", () => {
        const commands = run.resources.filter((r) => r.type === "command:remote:Command");
        expect(commands.length).toBeGreaterThan(20);
        const vps = devValue<{ publicIp: string }>("homemail:vps").publicIp;
        for (const c of commands) {
            const connection = plainValue(c.inputs.connection) as { host: string; hostKey?: string };
            expect({ name: c.name, hostKey: connection.hostKey }).toEqual({ name: c.name, hostKey: connection.host === vps ? VPS_KEY : HOME_KEY });
        }
    });

    it("make each Docker provider's ssh trust exactly that key, from a file of its own (not ~/.ssh)", () => {
        const providers = run.resources.filter((r) => r.type === "pulumi:providers:docker");
        expect(providers.map((p) => p.name).sort()).toEqual(["gateway-docker", "mailu-docker"]);
        for (const p of providers) {
            const opts = JSON.parse(String(plainValue(p.inputs.sshOpts))) as string[];
            const value = (name: string) => opts.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);
            expect(value("StrictHostKeyChecking")).toBe("yes");
            expect(value("GlobalKnownHostsFile")).toBe("/dev/null");
            const file = value("UserKnownHostsFile")!;
            expect(file).not.toMatch(/\.ssh/);
            const host = String(plainValue(p.inputs.host)).replace(/^ssh:\/\/[^@]+@/, "").replace(/:22$/, "");
            expect(readFileSync(file, "utf8")).toBe(`${host} ${p.name === "gateway-docker" ? VPS_KEY : HOME_KEY}\n`);
        }
    });

    it("are no secret (public keys) and appear in no command string", () => {
        for (const c of run.resources.filter((r) => r.type === "command:remote:Command")) {
            expect(isSecretValue((plainValue(c.inputs.connection) as Record<string, unknown>).hostKey)).toBe(false);
            expect(String(plainValue(c.inputs.create))).not.toContain(VPS_KEY.split(" ")[1]);
        }
    });

    it("are required on a real stack: without exampleAddresses, a missing key is refused and nothing is registered", async () => {
        // Public addresses (config only: nothing is sent anywhere) for a stack that is not an example.
        const input = withConfig([
            { key: "homemail:exampleAddresses", value: undefined },
            { key: "homemail:vps", value: { ...devValue<Record<string, unknown>>("homemail:vps"), publicIp: "93.184.215.14" } },
            { key: "homemail:home", value: { ...devValue<Record<string, unknown>>("homemail:home"), wanIp: "93.184.216.34", sshHostKey: HOME_KEY } },
        ]);
        await expect(runDevProgram(input)).rejects.toThrow(/^ +- homemail:vps\.sshHostKey: is required: the host's SSH public key.*ssh-keyscan -t ed25519 93\.184\.215\.14/m);
        await expect(runDevProgram(input)).rejects.not.toThrow(/homemail:home\.sshHostKey/);
        expect(registeredCount()).toBe(0);
    });
});
