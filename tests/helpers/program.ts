/**
 * Runs the real program (main.ts, then index.ts) under the mock engine in a fresh module registry (a fresh @pulumi/pulumi
 * too), so each call sees only its own config and resources.
 */
import type { ConfigInput } from "../../components/config";
import type { ProgramRun } from "../../scripts/lib/mockEngine";
import type { StackConfig } from "../../scripts/lib/stackFile";

let lastCount = 0;

/** Resources registered by the most recent {@link runDevProgram}, even when it failed. */
export function registeredCount(): number {
    return lastCount;
}

/** `load` defaults to the real program (main.ts, then index.ts); a test may run a fixture program instead, and answer invokes itself. */
export async function runDevProgram(
    input: ConfigInput,
    load?: () => Promise<Record<string, unknown>>,
    invoke?: (token: string, inputs: Record<string, unknown>) => Record<string, unknown> | undefined,
): Promise<ProgramRun> {
    let run: ProgramRun | undefined;
    let failure: unknown;
    lastCount = 0;
    await jest.isolateModulesAsync(async () => {
        const pulumi = await import("@pulumi/pulumi");
        const engine = await import("../../scripts/lib/mockEngine");
        const seen: ProgramRun = { resources: [], outputs: {} };
        try {
            run = await engine.runProgram({
                pulumi,
                project: input.project,
                stack: input.stack,
                config: { ...input.values },
                secretKeys: [...input.secretKeys],
                load: load ?? (() => import("../../main") as Promise<Record<string, unknown>>),
                onResource: (r) => seen.resources.push(r),
                invoke,
            });
        } catch (err) {
            failure = err;
        }
        lastCount = seen.resources.length;
    });
    if (failure) throw failure;
    return run!;
}

/** What {@link renderInProcess} saw. */
export interface InProcessRender {
    readonly code: number;
    readonly stderr: string;
    /** Resources registered before the run ended. */
    readonly registered: number;
}

/**
 * The render entry (`npm run render`'s scripts/lib/renderCli.ts) called in-process on the real
 * index.ts, in a fresh module registry, with the stack config from `readConfig`.
 */
export async function renderInProcess(argv: readonly string[], readConfig: (stack: string) => StackConfig): Promise<InProcessRender> {
    let result: InProcessRender | undefined;
    await jest.isolateModulesAsync(async () => {
        const pulumi = await import("@pulumi/pulumi");
        const { renderCli } = await import("../../scripts/lib/renderCli");
        let stderr = "";
        let registered = 0;
        const code = await renderCli(argv, {
            pulumi,
            load: () => import("../../main") as Promise<Record<string, unknown>>,
            readConfig,
            stdout: () => undefined,
            stderr: (t) => (stderr += t),
            onResource: () => registered++,
        });
        result = { code, stderr, registered };
    });
    return result!;
}
