// First: start-up tuning must be in place before any dependency loads.
import { restoreSourceMaps } from "../engine/fast-start";
import { parseArgs } from "util";
import { ConfigError } from "../config";
import {
  planStack,
  projectStacks,
  readPolicyConfigFile,
  readReleasesFile,
  UsageError,
} from "../engine/plan";
import { PlanReport, renderJson, renderMarkdown, renderText } from "../engine/plan-report";

/**
 * `npm run plan -- --stack <name> [--format text|markdown|json] [--policy-config <file.json>]
 *  [--releases <file.yaml>]`
 *
 * Plans a stack offline: runs the program for `Pulumi.<stack>.yaml` under the offline engine and
 * prints its resources, routing, policy verdicts and estimated monthly cost. No credentials, no
 * network. Exit codes: 0 planned, 1 a mandatory policy is violated, 2 bad config or arguments.
 */

const USAGE = `usage: npm run plan -- --stack <name> [--format text|markdown|json]
                       [--policy-config <file.json>] [--releases <file.yaml>]

  --stack          the stack to plan: Pulumi.<name>.yaml
  --format         text (default), markdown (a pull-request comment with a Mermaid diagram), json
  --policy-config  policy levels and settings, as for pulumi preview --policy-pack-config
  --releases       preview this release state (the shape of cutover:releases) instead of the stored one

exit codes: 0 planned, 1 a mandatory policy is violated, 2 bad config or arguments`;

const RENDERERS: Record<string, (report: PlanReport) => string> = {
  text: renderText,
  markdown: renderMarkdown,
  json: renderJson,
};

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        stack: { type: "string", short: "s" },
        format: { type: "string", short: "f", default: "text" },
        "policy-config": { type: "string" },
        releases: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    return usageError((e as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.stack) {
    return usageError(`--stack is required; stacks of this project: ${projectStacks().join(", ")}`);
  }
  const render = RENDERERS[values.format];
  if (!render) return usageError(`--format ${values.format}: use text, markdown or json`);

  try {
    const report = await planStack({
      stack: values.stack,
      overrides: values.releases
        ? { "cutover:releases": readReleasesFile(values.releases) }
        : undefined,
      policyConfig: values["policy-config"]
        ? readPolicyConfigFile(values["policy-config"])
        : undefined,
    });
    process.stdout.write(render(report));
    return report.exitCode;
  } catch (e) {
    if (e instanceof ConfigError || (e as Error).name === "ConfigError") {
      console.error((e as Error).message);
      return 2;
    }
    if (e instanceof UsageError) return usageError(e.message);
    throw e;
  }
}

function usageError(message: string): number {
  console.error(`plan: ${message}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // A failure of the program or the engine itself: the stack trace is the useful part.
    restoreSourceMaps();
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exitCode = 1;
  },
);
