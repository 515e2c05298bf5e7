// First: the same start-up tuning as the plan (it speeds up loading, not what is measured).
import "../engine/fast-start";
import { spawnSync } from "child_process";
import * as os from "os";
import { parseArgs } from "util";
import { ConfigError } from "../config";
import { planStack } from "../engine/plan";
import { PROJECT_DIR } from "../engine/run";
import { syntheticServices } from "../engine/synthetic";

/**
 * `npm run bench [-- --runs <n>]`: how fast the offline plan is.
 *
 * - floor: a child `node` that only loads @pulumi/pulumi and @pulumi/aws, the least any plan does;
 * - plan: a child running the plan script for prod exactly as `npm run plan` does (minus npm);
 * - their ratio against the 1.5× target;
 * - in-process evaluation (program, policies, report; after a warm-up) of prod with
 *   5 services × 2 versions and with 50 × 2, which one ALB cannot hold: the plan refuses it.
 *
 * Floor and plan runs alternate, so both see the same machine load; each reports the median.
 */

const TARGET_RATIO = 1.5;
const BASE_STACK = "prod";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "5" } },
    strict: true,
  });
  const runs = Math.max(1, Number(values.runs) || 5);

  const floorCommand = ["-e", 'require("@pulumi/pulumi"); require("@pulumi/aws")'];
  const planCommand = [require.resolve("tsx/cli"), "scripts/plan.ts", "--stack", BASE_STACK];
  // Warm the disk cache and tsx's transform cache; not counted.
  timeChild(floorCommand);
  timeChild(planCommand);
  const floors: number[] = [];
  const plans: number[] = [];
  for (let i = 0; i < runs; i++) {
    floors.push(timeChild(floorCommand));
    plans.push(timeChild(planCommand));
  }
  const floor = median(floors);
  const plan = median(plans);
  const ratio = plan / floor;

  console.log(
    `cutover bench: medians of ${runs} runs; ${os.cpus().length} CPUs, ` +
      `load average ${os.loadavg()[0].toFixed(2)}`,
  );
  console.log(
    `  floor   ${seconds(floor)}  node loading @pulumi/pulumi + @pulumi/aws  ${spread(floors)}`,
  );
  console.log(
    `  plan    ${seconds(plan)}  tsx scripts/plan.ts --stack ${BASE_STACK}  ${spread(plans)}`,
  );
  console.log(
    `  ratio   ${ratio.toFixed(2)}×   target ≤ ${TARGET_RATIO}×: ${ratio <= TARGET_RATIO ? "met" : "NOT met"}`,
  );

  // Warm-up: loads the program, the SDKs and the policy pack once.
  await planStack({ stack: BASE_STACK });
  console.log("  in-process evaluation (program + policies + report, after a warm-up):");
  for (const services of [5, 50]) {
    console.log(
      `    ${`${services} services × 2 versions`.padEnd(26)} ${await evaluate(services, 2)}`,
    );
  }
}

/** Wall time of a child `node` with `args`, in ms; a failing child fails the bench. */
function timeChild(args: string[]): number {
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, args, {
    cwd: PROJECT_DIR,
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  // The plan exits 1 when a mandatory policy is violated: still a complete plan.
  if (child.status !== 0 && child.status !== 1) {
    throw new Error(`${args.join(" ")} exited ${child.status}:\n${child.stderr}`);
  }
  return ms;
}

/** Plans `BASE_STACK` with `count` services of `versions` versions each; one line of result. */
async function evaluate(count: number, versions: number): Promise<string> {
  const overrides = syntheticServices(count, versions);
  const times: number[] = [];
  let result = "";
  for (let i = 0; i < 3; i++) {
    const start = process.hrtime.bigint();
    try {
      const report = await planStack({ stack: BASE_STACK, overrides });
      result = `${report.resources.total} resources, ${report.routing.length} hosts`;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      result = `refused: ${e.problems.join("; ")}`;
    }
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return `${seconds(median(times))}  ${result}`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function spread(values: number[]): string {
  return `(${values.map((v) => (v / 1000).toFixed(2)).join(" ")})`;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
