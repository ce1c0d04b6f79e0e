/**
 * The invalid-config corpus, grouped by config area (one file per area, the same areas as the
 * validators in components/config/validate/): each case is the dev stack with one thing wrong, and
 * the exact config key (as written in the stack file, with its path) that the error must name.
 */
import type { ConfigChange } from "../helpers/stack";
import { ADDRESS_CASES } from "./addresses";
import { DNS_CASES } from "./dns";
import { DOMAIN_CASES } from "./domains";
import { EGRESS_CASES } from "./egress";
import { GATEWAY_CASES } from "./gateway";
import { KEY_CASES } from "./keys";
import { MAILU_CASES } from "./mailu";
import { USER_CASES } from "./users";
import { WKD_CASES } from "./wkd";

export interface InvalidCase {
    readonly title: string;
    readonly changes: readonly ConfigChange[];
    /** The key the (first matching) error line must start with. */
    readonly key: string;
    /** A word or phrase the message must contain (what is wrong / the fix). */
    readonly mentions: string | RegExp;
    /** Text no line of the error may contain (e.g. a false "is required" after a decode problem). */
    readonly absent?: string;
}

/** Every case, by area. */
export const CASES_BY_AREA: Readonly<Record<string, readonly InvalidCase[]>> = {
    keys: KEY_CASES,
    addresses: ADDRESS_CASES,
    domains: DOMAIN_CASES,
    users: USER_CASES,
    dns: DNS_CASES,
    gateway: GATEWAY_CASES,
    mailu: MAILU_CASES,
    egress: EGRESS_CASES,
    wkd: WKD_CASES,
};

export const INVALID_CASES: InvalidCase[] = Object.values(CASES_BY_AREA).flat();
