/** Jest runs every layer (unit, components, tools, lab, e2e); root-only layers skip themselves. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  transform: {
    // Typecheck runs once in `npm test` (tsc --noEmit); tests transpile only, for speed.
    "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
  },
  testTimeout: 120000,
};
