import { spawnSync } from "child_process";
import * as path from "path";

/**
 * The static checks, run as part of the suite so they share its workers: the type-check proves
 * every resource argument against the provider SDK types, the lint catches Outputs in template
 * literals (and the rest of the rules), and Prettier keeps the formatting one.
 */

const root = path.resolve(__dirname, "..");

function run(command: string, args: string[]) {
  const child = spawnSync(process.execPath, [require.resolve(command), ...args], {
    cwd: root,
    encoding: "utf8",
  });
  return { status: child.status, output: `${child.stdout}${child.stderr}` };
}

test("the project type-checks against the SDK types and passes the lint", () => {
  const { status, output } = run("tsx/cli", ["scripts/check.ts"]);
  // Printing the output makes a failure say which file and rule.
  expect({ status, output: status === 0 ? "" : output }).toEqual({ status: 0, output: "" });
  expect(output).toMatch(/type-check: 0 error\(s\); lint: 0 error\(s\)/);
});

test("every source file is formatted with Prettier", () => {
  const { status, output } = run("prettier/bin/prettier.cjs", ["--check", "."]);
  expect({ status, output: status === 0 ? "" : output }).toEqual({ status: 0, output: "" });
});
