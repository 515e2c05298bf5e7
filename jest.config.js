/** Type-checking happens once in `npm run typecheck`; jest only strips types (swc). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": [
      "@swc/jest",
      {
        jsc: { parser: { syntax: "typescript" }, target: "es2022" },
        module: { type: "commonjs" },
        sourceMaps: "inline",
      },
    ],
  },
  testSequencer: "<rootDir>/test/sequencer.js",
  testTimeout: 60000,
  // jest leaves a core to itself by default; on a 2-core runner that halves the throughput.
  maxWorkers: "100%",
};
