/**
 * Every remote command the program registers, read from the out/ tree (resources.json) of the dev
 * stack and of the same stack with non-root SSH users: each runs as root through `sudo -n`, matches
 * exactly one step of steps.json by name, and carries the options of that step's strategy.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { REVERSING_UNDO_KINDS } from "../../components/render/hostPlan";
import type { ConfigInput } from "../../components/config";
import { writeOutTree } from "../../scripts/lib/writeOut";
import { runDevProgram } from "../helpers/program";
import { devValue, stackInput, withConfig } from "../helpers/stack";

interface Resource {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, unknown>;
    readonly options: { readonly deleteBeforeReplace: boolean; readonly dependsOn: readonly string[] };
}
interface Step {
    readonly host: string;
    readonly name: string;
    readonly kind: "file" | "step";
    readonly command?: string;
    readonly strategy: "in-place" | "replace" | "undo-first";
    readonly rerunOn: readonly string[];
    readonly after: readonly string[];
    readonly undo: { readonly kind: string; readonly command?: string; readonly reason?: string };
    readonly waitsForHost?: boolean;
}

async function render(input: ConfigInput): Promise<{ commands: Resource[]; steps: Step[]; resources: Resource[] }> {
    const run = await runDevProgram(input);
    const dir = mkdtempSync(path.join(tmpdir(), "hm-steps-"));
    try {
        const root = writeOutTree(dir, input.stack, run, { "0123456789abcdef0123456789abcdef": "example.com" }, false);
        const resources = JSON.parse(readFileSync(path.join(root, "resources.json"), "utf8")) as Resource[];
        const byHost = JSON.parse(readFileSync(path.join(root, "steps.json"), "utf8")) as Record<string, Step[]>;
        return { commands: resources.filter((r) => r.type === "command:remote:Command"), steps: Object.values(byHost).flat(), resources };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

const nonRoot = () =>
    withConfig([
        { key: "homemail:vps", value: { ...devValue<Record<string, unknown>>("homemail:vps"), sshUser: "deploy" } },
        { key: "homemail:home", value: { ...devValue<Record<string, unknown>>("homemail:home"), sshUser: "deploy" } },
    ]);
/** A command without its machine-readable header lines (`# homemail-file ...`, `# homemail content ...`). */
const body = (c: string) => c.replace(/^(# homemail[^\n]*\n)+/, "");

type Rendered = Awaited<ReturnType<typeof render>>;
let dev: Rendered;
let deploy: Rendered;
beforeAll(async () => {
    dev = await render(stackInput());
    deploy = await render(nonRoot());
});

describe("every remote command of a non-root stack", () => {
    it("runs create, update and delete through sudo -n, right after the header lines", () => {
        expect(deploy.commands.length).toBeGreaterThan(40);
        const notSudo: string[] = [];
        for (const c of deploy.commands) {
            for (const field of ["create", "update", "delete"] as const) {
                const v = c.inputs[field];
                // A command is never a secret, and its body starts with sudo -n.
                if (v !== undefined && (typeof v !== "string" || !body(v).startsWith("sudo -n "))) notSudo.push(`${c.name}.${field}`);
            }
        }
        expect(notSudo).toEqual([]);
    });

    it("waits for SSH with `sudo -n true` on each host, proving passwordless sudo before anything changes", () => {
        const waits = deploy.steps.filter((s) => s.waitsForHost);
        expect([...new Set(waits.map((w) => w.host))].sort()).toEqual(["home", "vps"]);
        const create = new Map(deploy.commands.map((c) => [c.name, c.inputs.create]));
        for (const w of waits) expect({ name: w.name, create: create.get(w.name) }).toEqual({ name: w.name, create: "sudo -n true" });
        // Every other step runs after one of them (directly or through what it depends on, image pulls included).
        const after = new Map(deploy.resources.map((r) => [r.name, r.options.dependsOn.map((urn) => urn.slice(urn.lastIndexOf("::") + 2))]));
        const reachesWait = (name: string, seen = new Set<string>()): boolean =>
            waits.some((w) => w.name === name) || (after.get(name) ?? []).some((a) => !seen.has(a) && (seen.add(a), reachesWait(a, seen)));
        expect(deploy.steps.filter((s) => !reachesWait(s.name)).map((s) => s.name)).toEqual([]);
    });
});

describe.each([
    ["root (dev)", () => dev],
    ["non-root", () => deploy],
])("resources.json and steps.json (%s)", (_, get) => {
    it("match one to one by name", () => {
        const { commands, steps } = get();
        expect(steps.map((s) => s.name).sort()).toEqual(commands.map((c) => c.name).sort());
        expect(new Set(steps.map((s) => s.name)).size).toBe(steps.length);
    });

    it("give each command the options of its step's strategy and its undo as delete", () => {
        const { commands, steps } = get();
        const step = new Map(steps.map((s) => [s.name, s]));
        for (const c of commands) {
            const s = step.get(c.name)!;
            const got = {
                name: c.name,
                triggers: c.inputs.triggers !== undefined,
                update: c.inputs.update === undefined ? "none" : c.inputs.update === c.inputs.create ? "= create" : "other",
                deleteBeforeReplace: c.options.deleteBeforeReplace,
                delete: c.inputs.delete !== undefined,
            };
            const reversing = (REVERSING_UNDO_KINDS as readonly string[]).includes(s.undo.kind);
            const want = {
                "in-place": { triggers: false, update: "= create", deleteBeforeReplace: false },
                replace: { triggers: s.rerunOn.length > 0, update: "none", deleteBeforeReplace: false },
                "undo-first": { triggers: true, update: "none", deleteBeforeReplace: true },
            }[s.strategy];
            expect(got).toEqual({ name: c.name, ...want, delete: reversing });
            if (reversing && get() === dev) expect(c.inputs.delete).toBe(s.undo.command);
            if (!reversing) expect(s.undo.reason?.trim()).toBeTruthy();
            expect(s.strategy === "replace" && reversing).toBe(false);
        }
    });

    it("put an in-place step's plain re-run hashes in the command's header, a trigger step's in triggers", () => {
        const { commands, steps } = get();
        const command = new Map(commands.map((c) => [c.name, c]));
        for (const s of steps.filter((x) => x.kind === "step")) {
            const c = command.get(s.name)!;
            const plain = s.rerunOn.filter((h) => h !== "[secret]");
            if (s.strategy === "in-place") {
                if (plain.length) expect(String(c.inputs.create).split("\n")[0]).toBe(`# homemail content sha256: ${plain.join(" ")}`);
            } else if (c.inputs.triggers !== "[secret]") {
                expect((c.inputs.triggers as string[]).filter((t) => t !== "[secret]")).toEqual(plain);
            }
        }
    });
});

describe("homemail:wireguard.keyEpoch", () => {
    it("changes the key steps' inputs (they run again and rotate), and no other step's command", async () => {
        const rotated = await render(withConfig([{ key: "homemail:wireguard", value: { ...devValue<Record<string, unknown>>("homemail:wireguard"), keyEpoch: 1 } }]));
        const create = (r: { commands: Resource[] }) => new Map(r.commands.map((c) => [c.name, c.inputs.create]));
        const [before, after] = [create(dev), create(rotated)];
        const changed = [...before.keys()].filter((n) => before.get(n) !== after.get(n)).sort();
        expect(changed).toEqual(["wg-hub-key", "wg-spoke-key"]);
        for (const n of changed) expect(String(after.get(n))).toMatch(/bash -s -- \/etc\/wireguard\/wg0\.key 1$/);
    });
});
