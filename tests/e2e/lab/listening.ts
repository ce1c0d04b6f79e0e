/** Waiting for a daemon started in a lab place to accept connections. */
import { Place, waitFor } from "../../lab/harness";

/**
 * Returns once something in `place` listens on TCP `port` (any address); throws after 10 s naming
 * `what`, with `output()` (the daemon's own words) appended.
 */
export function waitListening(place: Place, port: number, what: string, output: () => string = () => ""): void {
    try {
        waitFor(() => place.listening(port), 10_000, "");
    } catch {
        throw new Error(`${what} does not listen on tcp/${port} after 10 s\n${output()}`);
    }
}
