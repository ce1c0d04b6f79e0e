import { ConfigError, formatProblem, parseModel } from "../../components/config";
import { INVALID_CASES } from "../invalid-config/cases";
import { withConfig } from "../helpers/stack";

function problemsOf(run: () => unknown): ConfigError {
    try {
        run();
    } catch (err) {
        if (err instanceof ConfigError) return err;
        throw err;
    }
    throw new Error("config was accepted");
}

describe("invalid configs are refused, naming the key", () => {
    it("has a corpus of at least 150 cases, every title once", () => {
        expect(INVALID_CASES.length).toBeGreaterThanOrEqual(150);
        expect(new Set(INVALID_CASES.map((c) => c.title)).size).toBe(INVALID_CASES.length);
    });

    it.each(INVALID_CASES.map((c) => [c.title, c] as const))("%s", (_title, c) => {
        const error = problemsOf(() => parseModel(withConfig(c.changes)));
        const hit = error.problems.find((p) => p.key === c.key);
        expect({ keys: error.problems.map((p) => p.key), hit: !!hit }).toEqual(expect.objectContaining({ hit: true }));
        expect(formatProblem(hit!)).toEqual(expect.stringMatching(typeof c.mentions === "string" ? new RegExp(c.mentions.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) : c.mentions));
        // Every line names a key, says what is wrong and how to fix it; no stack trace in the message.
        for (const line of error.message.split("\n").slice(1)) expect(line).toMatch(/^ {2}- [a-z]+:[A-Za-z]\S*: .+\. Fix: .+/);
        expect(error.message).not.toMatch(/\n\s+at /);
        if (c.absent) expect(error.message).not.toContain(c.absent);
    });

    it("reports every problem at once, not just the first", () => {
        const error = problemsOf(() =>
            parseModel(withConfig([
                { key: "homemail:mailSubnet", value: "not-a-cidr" },
                { key: "homemail:dkimSelector", value: "bad selector" },
                { key: "homemail:primaryDomain", value: undefined },
            ])),
        );
        expect(error.problems.map((p) => p.key)).toEqual(expect.arrayContaining(["homemail:mailSubnet", "homemail:dkimSelector", "homemail:primaryDomain"]));
    });
});
