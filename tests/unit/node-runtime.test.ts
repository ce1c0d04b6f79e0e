/**
 * The suite runs on the Node.js the project pins (the npm `node` package, whose binary `npm ci`
 * puts first on the scripts' PATH), not on whatever the machine has: @pulumi/pulumi 3.270 and
 * libraries such as mailauth 7 need Node >= 22, and Node 20 is past its end of life.
 */
import * as fs from "fs";
import * as path from "path";

const root = path.resolve(__dirname, "../..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const major = (version: string) => Number(/^v?(\d+)\./.exec(version)?.[1]);

describe("Node.js runtime", () => {
  it("runs the tests on Node 22 or newer", () => {
    expect(major(process.version)).toBeGreaterThanOrEqual(22);
  });

  it("runs them on the pinned npm `node` binary, not the machine's", () => {
    const pinned = pkg.devDependencies.node as string;
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/); // exact pin: CI must not float to a new major
    expect(process.version).toBe(`v${pinned}`);
  });

  it("declares engines.node >= 22, so npm warns users on an older Node", () => {
    expect(pkg.engines.node).toBe(">=22");
  });
});
