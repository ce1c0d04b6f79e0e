/** A validator context (components/config/validate/context.ts) from the dev stack with some changes. */
import { decode } from "../../components/config/decode";
import { ProblemList } from "../../components/config/errors";
import type { Ctx } from "../../components/config/validate/context";
import { ConfigChange, withConfig } from "./stack";

export function ctxWith(changes: readonly ConfigChange[] = []): Ctx {
    const input = withConfig(changes);
    const problems = new ProblemList();
    const { raw, present } = decode(input.values, input.secretKeys, problems);
    if (!problems.empty) throw new Error(`decode failed: ${problems.all.map((p) => p.key).join(", ")}`);
    return { raw, present, problems, example: raw.exampleAddresses ?? false };
}

/** The keys of the problems a validator added. */
export function problemKeys(ctx: Ctx): string[] {
    return ctx.problems.all.map((p) => p.key);
}
