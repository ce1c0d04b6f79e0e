/**
 * A doctor context for running checks off the real network: what a recording or a replay gives
 * (DNS to one server, a host runner), the rest refusing, so that a check reaching for something
 * outside its recording fails loudly instead of going out.
 */
import type { Model } from "../../components/config";
import type { DoctorContext } from "../../scripts/lib/doctor/context";
import { AuthoritativeDns } from "../../scripts/lib/doctor/dns";

const refuse = () => Promise.reject(new Error("not part of this recording"));

export function offlineContext(model: Model, parts: Partial<Omit<DoctorContext, "model">> = {}): DoctorContext {
    return {
        model,
        render: { records: [], files: new Map() },
        // The discard port: a question nobody recorded gets no answer.
        dns: new AuthoritativeDns({ servers: ["127.0.0.1:9"], zones: [], timeoutMs: 100 }),
        https: refuse,
        ssh: refuse,
        timeoutMs: 5000,
        facts: new Map(),
        ...parts,
    };
}
