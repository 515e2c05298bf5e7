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
    if (decl && typeof decl === "object" && "default" in decl) raw[key] = decl.default;
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
 * and the resolved stack outputs. The program exports a
 * function, so each call evaluates it afresh (config is read when it runs, not when it loads).
 */
export async function runStack(options: RunOptions): Promise<RunResult> {
  const project = options.project ?? "cutover";
  const base = options.config ?? readStackConfig(options.stack);
  const over = flattenConfig(options.overrides ?? {});
  const values = { ...base.values, ...over.values };
  const secretKeys = [...new Set([...base.secretKeys, ...over.secretKeys])];
  for (const [key, value] of Object.entries(options.overrides ?? {}))
    if (value === undefined) delete values[key];

  const engine = options.engine ?? new MockEngine({ ...options, project, stack: options.stack });
  pulumi.runtime.setAllConfig(values, secretKeys);
  await pulumi.runtime.setMocks(engine, project, options.stack, false);
  hookParents(engine);

  const program = options.program ?? path.join(PROJECT_DIR, "index.ts");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const exported = require(program) as unknown;
  const result =
    typeof exported === "function" ? await (exported as () => unknown)() : await exported;
  const outputs = await resolve(result);
  await waitForRPCs();
  return {
    engine,
    resources: engine.resources,
    outputs: (outputs ?? {}) as Record<string, unknown>,
  };
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
