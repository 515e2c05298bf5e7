import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { EngineOptions, hookParents, MockEngine, RecordedResource } from "./mocks";

/** Where Pulumi.yaml and the stack files live. */
export const PROJECT_DIR = path.resolve(__dirname, "..");

/** What secure config values look like offline: the CLI's ciphertext cannot be read here. */
export const SECRET_PLACEHOLDER = "[secret]";

export interface StackConfig {
  /** Flat config as the runtime sees it: `ns:key` → string (objects as JSON). */
  readonly values: Record<string, string>;
  /** Keys holding secure values. */
  readonly secretKeys: string[];
}

/**
 * Reads `Pulumi.<stack>.yaml` (plus the project's config defaults) into the flat form the Pulumi
 * runtime receives from the CLI. `secure:` values cannot be decrypted offline; they become
 * `[secret]` and their keys are marked secret, so the program still runs.
 */
export function readStackConfig(stack: string, dir = PROJECT_DIR): StackConfig {
  const project = parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as {
    name: string;
    config?: Record<string, { default?: unknown }>;
  };
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new Error(`no stack file ${path.basename(file)} in ${dir}`);
  const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const raw: Record<string, unknown> = {};
  for (const [key, decl] of Object.entries(project.config ?? {})) {
    // Bare keys belong to the project's namespace, as the CLI reads them.
    const full = key.includes(":") ? key : `${project.name}:${key}`;
    if (decl && typeof decl === "object" && "default" in decl) raw[full] = decl.default;
  }
  Object.assign(raw, doc.config ?? {});
  return flattenConfig(raw);
}

/** Turns parsed config (`ns:key` → any) into runtime form, marking secure values. */
export function flattenConfig(raw: Record<string, unknown>): StackConfig {
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    let secret = false;
    const replaced = replaceSecure(value, () => (secret = true));
    values[key] = typeof replaced === "string" ? replaced : JSON.stringify(replaced);
    if (secret) secretKeys.push(key);
  }
  return { values, secretKeys };
}

function replaceSecure(value: unknown, found: () => void): unknown {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0][0] === "secure") {
      found();
      return SECRET_PLACEHOLDER;
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, replaceSecure(v, found)]));
  }
  if (Array.isArray(value)) return value.map((v) => replaceSecure(v, found));
  return value;
}

export interface RunOptions extends Partial<Omit<EngineOptions, "stack">> {
  readonly stack: string;
  /** Config to use instead of the stack file's (same flat form). */
  readonly config?: StackConfig;
  /** Extra `ns:key` values (parsed form) laid over the stack file's. */
  readonly overrides?: Record<string, unknown>;
  /** An engine to record into (to inspect it even when the program throws). */
  readonly engine?: MockEngine;
  /** Program entry point; defaults to the project's index.ts. */
  readonly program?: string;
}

export interface RunResult {
  readonly engine: MockEngine;
  readonly resources: RecordedResource[];
  readonly outputs: Record<string, unknown>;
}

/**
 * Runs the program for one stack under the offline engine and returns every registered resource
 * and the resolved stack outputs. The program exports a function, so each call evaluates it
 * afresh (config is read when it runs, not when it loads).
 *
 * Pulumi's runtime records a formatted stack trace for every promise it creates (for leak reports
 * nobody reads here), about a quarter of a run. So the program first runs without stack traces;
 * if it fails for any reason but its config, it runs once more with them: under the offline
 * engine the program is deterministic, so the second run fails the same way, with a stack.
 */
export async function runStack(options: RunOptions): Promise<RunResult> {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return await runOnce(options);
  } catch (e) {
    if (isConfigError(e)) throw e;
    Error.stackTraceLimit = limit;
    options.engine?.reset();
    return await runOnce(options);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function isConfigError(e: unknown): boolean {
  return e instanceof Error && e.name === "ConfigError";
}

async function runOnce(options: RunOptions): Promise<RunResult> {
  const project = options.project ?? "cutover";
  const base = options.config ?? readStackConfig(options.stack);
  const over = flattenConfig(options.overrides ?? {});
  const values = { ...base.values, ...over.values };
  const secretKeys = [...new Set([...base.secretKeys, ...over.secretKeys])];
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) delete values[key];
  }

  const engine = options.engine ?? new MockEngine({ ...options, project, stack: options.stack });
  pulumi.runtime.setAllConfig(values, secretKeys);
  await pulumi.runtime.setMocks(engine, project, options.stack, false);
  hookParents(engine);

  // A failed invoke or registration inside an Output surfaces only as an unhandled rejection;
  // collect those and fail the run with the first.
  const failures: unknown[] = engine.failures;
  const onRejection = (reason: unknown) => failures.push(reason);
  process.on("unhandledRejection", onRejection);
  try {
    const program = options.program ?? path.join(PROJECT_DIR, "index.ts");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exported = require(program) as unknown;
    const result =
      typeof exported === "function" ? await (exported as () => unknown)() : await exported;
    const outputs = await Promise.race([resolve(result), failed(failures)]);
    await Promise.race([waitForRPCs(), failed(failures)]);
    if (failures.length > 0) throw rootCause(failures);
    return {
      engine,
      resources: engine.resources,
      outputs: (outputs ?? {}) as Record<string, unknown>,
    };
  } finally {
    process.off("unhandledRejection", onRejection);
  }
}

/** The failure that caused the others: they wrap it as "error serializing property …". */
function rootCause(failures: unknown[]): unknown {
  const own = failures.find((f) => !String((f as Error)?.message).startsWith("error serializing"));
  return own ?? failures[0];
}

/** Rejects as soon as `failures` holds something (polled: rejections arrive between ticks). */
function failed(failures: unknown[]): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setInterval(() => {
      if (failures.length > 0) {
        clearInterval(timer);
        reject(rootCause(failures));
      }
    }, 10);
    timer.unref();
  });
}

/** Waits until every registration the program started has been answered. */
function waitForRPCs(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  return settings.waitForRPCs();
}

/** Waits for every Output inside `value` and returns plain data. */
function resolve(value: unknown): Promise<unknown> {
  const output: pulumi.Output<unknown> = pulumi.output(value as pulumi.Input<object>);
  return new Promise((done) => output.apply((v) => done(v)));
}
