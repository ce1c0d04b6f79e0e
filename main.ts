/**
 * The program's entry (package.json "main"): validates the stack config, reads the Cloudflare zones
 * and stops with every conflicting record listed (components/dnsConflicts.ts), and only then loads
 * index.ts, whose components register resources. So nothing is registered while a zone conflicts.
 *
 * Why a module of its own: a CommonJS module cannot await at top level, and Pulumi awaits a program
 * module that exports a promise, using what it resolves to (index.ts's exports) as the stack outputs.
 * Making each component wait instead fails badly: the SDK prefixes a rejected dependency's message
 * with every property it passed through.
 */
import { loadModel } from "./components/config/load";
import { checkDnsConflicts } from "./components/dnsConflicts";

const model = loadModel();

// eslint-disable-next-line @typescript-eslint/no-require-imports
export = checkDnsConflicts(model).then(() => require("./index") as typeof import("./index"));
