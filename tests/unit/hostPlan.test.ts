/**
 * The executor's contract, without Pulumi: each change strategy maps to exactly its pulumi-command
 * options, unsound plans are refused before any resource exists, and plans run in `after` order.
 */
import { CONTENT_HEADER, SECRET_INPUTS_HEADER, commandShape, executePlan } from "../../components/hostPlan";
import type { HostPlan, HostStep, StepUndo } from "../../components/render/hostPlan";
import { REVERSING_UNDO_KINDS, assertStepSound, orderPlan } from "../../components/render/hostPlan";

const stop: StepUndo = { kind: "stop-service", command: "systemctl disable --now x" };
const parts = { sshUser: "root", command: "systemctl restart x", undoCommand: stop.command, hashes: ["h1", "h2"] };

describe("commandShape: strategy -> options", () => {
    it.each([
        [
            "in-place",
            {
                create: `${CONTENT_HEADER}h1 h2\nsystemctl restart x`,
                update: `${CONTENT_HEADER}h1 h2\nsystemctl restart x`,
                delete: stop.command,
                deleteBeforeReplace: false,
            },
        ],
        ["replace", { create: "systemctl restart x", delete: stop.command, triggers: ["h1", "h2"], deleteBeforeReplace: false }],
        ["undo-first", { create: "systemctl restart x", delete: stop.command, triggers: ["h1", "h2"], deleteBeforeReplace: true }],
    ] as const)("%s", (strategy, expected) => {
        expect(commandShape({ ...parts, strategy })).toEqual(expected);
    });

    it("in-place: no triggers at all; hashes of secrets go to stdin, never into the command", () => {
        const s = commandShape({ ...parts, strategy: "in-place", secretHashes: ["s1"] });
        expect(s.triggers).toBeUndefined();
        expect(s.create).not.toContain("s1");
        expect(s.stdinHashes).toBe(`${SECRET_INPUTS_HEADER}s1\n`);
    });

    it("replace and undo-first: secret hashes are triggers too (Pulumi keeps them secret)", () => {
        expect(commandShape({ ...parts, strategy: "undo-first", secretHashes: ["s1"] }).triggers).toEqual(["h1", "h2", "s1"]);
    });

    it("puts a header line first and sudo after it for a non-root user, in create, update and delete", () => {
        const s = commandShape({ ...parts, strategy: "in-place", sshUser: "deploy", header: "# homemail-file {}" });
        for (const c of [s.create, s.update!]) expect(c.split("\n").slice(0, 2)).toEqual(["# homemail-file {}", `${CONTENT_HEADER}h1 h2`]);
        expect(s.create.split("\n")[2]).toMatch(/^sudo -n sh -c 'systemctl restart x'$/);
        expect(s.delete).toBe("sudo -n sh -c 'systemctl disable --now x'");
    });

    it("a step without an undo command gets no delete", () => {
        expect(commandShape({ ...parts, undoCommand: undefined, strategy: "replace" })).not.toHaveProperty("delete");
    });
});

describe("assertStepSound", () => {
    it.each(REVERSING_UNDO_KINDS)("refuses replace with a %s undo (the old undo would run after the new create)", (kind) => {
        expect(() => assertStepSound("wg-hub-up", { strategy: "replace", undo: { kind, command: "x" } })).toThrow(/wg-hub-up: strategy "replace" runs the old undo/);
        expect(() => assertStepSound("wg-hub-up", { strategy: "undo-first", undo: { kind, command: "x" } })).not.toThrow();
        expect(() => assertStepSound("wg-hub-up", { strategy: "in-place", undo: { kind, command: "x" } })).not.toThrow();
    });

    it("allows replace for steps whose undo leaves the create alone, but only with a reason", () => {
        expect(() => assertStepSound("s", { strategy: "replace", undo: { kind: "kept-on-destroy", reason: "user data" } })).not.toThrow();
        expect(() => assertStepSound("s", { strategy: "replace", undo: { kind: "nothing-to-undo", reason: " " } })).toThrow(/needs a reason/);
    });
});

const step = (role: string, after: string[], extra: Partial<HostStep> = {}): HostStep => ({
    role,
    command: "true",
    rerunOn: [],
    after,
    strategy: "in-place",
    undo: { kind: "nothing-to-undo", reason: "test" },
    ...extra,
});

describe("executePlan refuses a programming error before registering anything", () => {
    const target = { name: "t", parent: {} as never, ssh: { host: "203.0.113.10", port: 22, user: "root" } };
    it("replace with a stop-service undo", () => {
        const plan: HostPlan = { host: "vps", files: [], steps: [step("up", [], { strategy: "replace", undo: stop })] };
        expect(() => executePlan(target, plan)).toThrow(/t-up: strategy "replace"/);
    });
    it("an `after` that names nothing", () => {
        expect(() => executePlan(target, { host: "vps", files: [], steps: [step("a", ["nope"])] })).toThrow(/a runs after nope/);
    });
});

describe("orderPlan", () => {
    it("orders by `after` whatever the declaration order, and refuses cycles and duplicates", () => {
        const plan: HostPlan = { host: "home", files: [], steps: [step("c", ["b"]), step("b", ["a"]), step("a", [])] };
        expect(orderPlan(plan).map((e) => e.role)).toEqual(["a", "b", "c"]);
        expect(() => orderPlan({ ...plan, steps: [step("a", ["b"]), step("b", ["a"])] })).toThrow(/cycle/);
        expect(() => orderPlan({ ...plan, steps: [step("a", []), step("a", [])] })).toThrow(/appears twice/);
    });
});
