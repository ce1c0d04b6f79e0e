/**
 * Polling that lets the event loop run between checks, for conditions that depend on what
 * background processes print: their output arrives as events, which a synchronous wait never sees.
 */
export async function eventually(check: () => boolean, timeoutMs: number, message: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
        if (Date.now() > deadline) throw new Error(message());
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}
