import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { ConfigError } from "../config";
import { evaluatePolicies, PolicyConfig, readPolicyConfig } from "../policies/evaluate";
import { buildPlanReport, PlanReport } from "./plan-report";
import { PROJECT_DIR, RunOptions, RunResult, runStack } from "./run";

/**
 * The offline plan of one stack: run the program for `Pulumi.<stack>.yaml` under the offline
 * engine, evaluate the policy pack over what it registered, and build the report. Used by
 * `npm run plan` and `npm run bench`.
 */

/** A problem with how the plan was asked for (arguments, files): exit 2, no stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface PlanOptions {
  readonly stack: string;
  /** `ns:key` values laid over the stack file's (parsed form), e.g. `cutover:releases`. */
  readonly overrides?: Record<string, unknown>;
  readonly policyConfig?: PolicyConfig;
}

const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export async function planStack(options: PlanOptions): Promise<PlanReport> {
  checkStack(options.stack);
  const { resources, outputs } = await runWithoutPromiseStacks({
    stack: options.stack,
    overrides: options.overrides,
  });
  let verdicts;
  try {
    verdicts = evaluatePolicies(resources, options.policyConfig);
  } catch (e) {
    // The pack refuses a config that names an unknown policy or level before running anything.
    const message = (e as Error).message;
    if (options.policyConfig && message.startsWith("policy config")) throw new UsageError(message);
    throw e;
  }
  return buildPlanReport({
    stack: options.stack,
    resources,
    outputs,
    verdicts,
    // What the program saw; `secure:` values were replaced by `[secret]` before it ran.
    config: pulumi.runtime.allConfig(),
  });
}

/**
 * Pulumi's runtime records a formatted stack trace on every promise it creates, for leak reports
 * the plan never prints; that is about a quarter of a run. So the program runs without stack
 * traces, and when it fails for any reason but its config, once more with them: the program is
 * deterministic under the offline engine, so the second run fails the same way, with a stack.
 */
async function runWithoutPromiseStacks(options: RunOptions): Promise<RunResult> {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return await runStack(options);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    Error.stackTraceLimit = limit;
    return await runStack(options);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The stacks of the project: one `Pulumi.<stack>.yaml` each. */
export function projectStacks(dir = PROJECT_DIR): string[] {
  return fs
    .readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

function checkStack(stack: string): void {
  if (!STACK_NAME.test(stack)) {
    throw new UsageError(`--stack ${JSON.stringify(stack)} is not a stack name`);
  }
  if (!fs.existsSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`))) {
    throw new UsageError(
      `there is no Pulumi.${stack}.yaml; stacks of this project: ${projectStacks().join(", ")}`,
    );
  }
}

/**
 * Reads a release state to preview: a YAML map of service → `{ versions, live, slots }`, the
 * shape of `cutover:releases` (config.ts validates its content).
 */
export function readReleasesFile(file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageError(`--releases ${file} is not readable YAML: ${(e as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new UsageError(
      `--releases ${file} must map each service to its release, e.g. api: { versions: [3f9c2ab], live: 3f9c2ab }`,
    );
  }
  return doc as Record<string, unknown>;
}

/** Reads a policy config file (`--policy-config`), as `pulumi preview --policy-pack-config`. */
export function readPolicyConfigFile(file: string): PolicyConfig {
  try {
    return readPolicyConfig(file);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
