/**
 * Daemons whose words the tests read: their stdout and stderr go to a file. A pipe's data reaches
 * the test process only as events, which never run while a test waits synchronously (waitFor), so
 * a startup failure would be reported without the daemon's own error message.
 */
import { existsSync, readFileSync } from "node:fs";
import { Background, Place } from "../../lab/harness";

export interface LoggedProcess {
    readonly process: Background;
    /** Everything the daemon wrote so far. */
    log(): string;
}

/** Starts argv in `place` (tracked by the lab) with its output appended to `logFile`. */
export function spawnLogged(place: Place, argv: readonly string[], logFile: string): LoggedProcess {
    const process = place.spawn(["bash", "-c", 'log=$1; shift; exec "$@" >>"$log" 2>&1', "spawn-logged", logFile, ...argv]);
    return { process, log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "") };
}
