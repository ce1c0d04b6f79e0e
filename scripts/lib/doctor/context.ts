/** What every check gets: the inputs, and the probes it may use (DNS, HTTPS, SMTP, SSH). */
import type { Model } from "../../../components/config";
import type { AuthoritativeDns } from "./dns";
import type { RenderSet } from "./inputs";
import type { HttpsFetch } from "./web";
import type { SshRunner } from "./ssh";

export interface DoctorContext {
    readonly model: Model;
    readonly render: RenderSet;
    readonly outputs?: Readonly<Record<string, unknown>>;
    readonly dns: AuthoritativeDns;
    readonly https: HttpsFetch;
    readonly ssh: SshRunner;
    readonly timeoutMs: number;
    /** What one check found that a later one compares with (the served MTA-STS policy text). */
    readonly facts: Map<string, string>;
}
