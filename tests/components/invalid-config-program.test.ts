/**
 * The real program under mocks: on invalid config it registers no resource at all and fails with
 * Pulumi's RunError (printed without a stack trace), naming the key.
 */
import { INVALID_CASES } from "../invalid-config/cases";
import { withConfig } from "../helpers/stack";
import { registeredCount, runDevProgram } from "../helpers/program";

describe("index.ts on invalid config", () => {
    it.each(INVALID_CASES.map((c) => [c.title, c] as const))("%s: nothing registered", async (_title, c) => {
        const input = withConfig(c.changes);
        const result = await runDevProgram(input).then(
            (run) => ({ ok: true as const, run }),
            (err: Error) => ({ ok: false as const, err }),
        );
        expect(result.ok).toBe(false);
        if (result.ok) return;
        // RunError (matched by its marker: each run has its own @pulumi/pulumi instance) prints without a stack trace.
        expect((result.err as unknown as { __pulumiRunError?: boolean }).__pulumiRunError).toBe(true);
        expect(result.err.message).toContain(`${c.key}: `);
        expect(registeredCount()).toBe(0);
    });
});

