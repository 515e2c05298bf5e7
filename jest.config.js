/** Type-checking happens once, in test/static.test.ts; jest only transpiles. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    // tsconfig.json sets isolatedModules, so ts-jest transpiles each file without type-checking.
    "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
  },
  testSequencer: "<rootDir>/test/sequencer.js",
  testTimeout: 60000,
  // jest leaves a core to itself by default; on a 2-core runner that halves the throughput.
  maxWorkers: "100%",
};
