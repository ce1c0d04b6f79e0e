/**
 * Host scripts live as real files in assets/ (shellchecked, run by the labs as they are); components
 * read them here and push them unchanged. Never build shell text in TypeScript.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";

export const ASSETS_DIR = path.resolve(__dirname, "..", "assets");

/** The text of `assets/<relativePath>`. */
export function readAsset(relativePath: string): string {
    return readFileSync(path.join(ASSETS_DIR, relativePath), "utf8");
}
