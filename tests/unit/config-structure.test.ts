/**
 * The config layer stays small: no function in components/config/ over 80 lines (parse.ts's old
 * `build()` was 476), and every validator file exports its validators for their own unit tests.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { REPO_ROOT } from "../helpers/stack";

const CONFIG_DIR = path.join(REPO_ROOT, "components", "config");

function tsFiles(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
}

/** Every function-like node of a file with its line count. */
function functionLengths(file: string): { name: string; lines: number }[] {
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    const found: { name: string; lines: number }[] = [];
    const visit = (node: ts.Node) => {
        if (ts.isFunctionDeclaration(node) || ts.isArrowFunction(node) || ts.isFunctionExpression(node) || ts.isMethodDeclaration(node)) {
            const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
            const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
            const name = (node as ts.FunctionDeclaration).name?.getText() ?? `<anonymous at line ${start + 1}>`;
            found.push({ name, lines: end - start + 1 });
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
}

describe("config layer structure", () => {
    it("has no function over 80 lines in components/config/", () => {
        const long = tsFiles(CONFIG_DIR).flatMap((f) => functionLengths(f).filter((fn) => fn.lines > 80).map((fn) => `${path.relative(REPO_ROOT, f)}: ${fn.name} (${fn.lines} lines)`));
        expect(long).toEqual([]);
    });

    it("has one 'did you mean' (suggest.ts), used for keys, nested fields and namespaces alike", () => {
        const others = tsFiles(path.join(REPO_ROOT, "components")).filter((f) => !f.endsWith(path.join("config", "suggest.ts")));
        expect(others.filter((f) => /levenshtein|editDistance|[`"']did you mean/i.test(readFileSync(f, "utf8"))).map((f) => path.relative(REPO_ROOT, f))).toEqual([]);
        expect(readFileSync(path.join(CONFIG_DIR, "decode.ts"), "utf8").match(/didYouMean\(/g)).toHaveLength(3);
    });

    it("has one validator file per config area, each exporting a validate* function", () => {
        const dir = path.join(CONFIG_DIR, "validate");
        for (const area of ["addresses", "domains", "users", "gateway", "mailu", "egress", "wkd", "dns", "ssh"]) {
            expect([area, /export function validate[A-Z]\w*\(/.test(readFileSync(path.join(dir, `${area}.ts`), "utf8"))]).toEqual([area, true]);
        }
    });
});
