import * as fs from "fs";
import {
  PolicyConfigSchema,
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { Resource } from "@pulumi/pulumi";
import { RecordedResource, unwrapSecrets } from "../engine/mocks";
import { allPolicies } from "./all";

/**
 * Runs the cutover pack offline, over the resources the mock engine recorded, the way the
 * CrossGuard analyzer in @pulumi/policy 1.21 runs it under `pulumi preview --policy-pack`:
 *
 * - resource policies get the resource's inputs (secrets unwrapped), its options, its provider
 *   (type, name, URN and the provider resource's inputs), `isType`/`asType`, `getConfig` and a
 *   `notApplicable` that throws; a single typed validation is skipped for other types, an array
 *   of validations is run in order;
 * - stack policies get every resource with its outputs (`state`), parent, provider, and empty
 *   `dependencies`/`propertyDependencies` (the mock engine does not record them);
 * - the level of a policy is its policy config (a policy's own entry, else `all`), else the
 *   policy's own level, else the pack's (`mandatory`). Disabled policies do not run.
 *
 * Validations must be synchronous (every cutover policy is): the harness is synchronous.
 */

export { allPolicies };

export type EnforcementLevel = "mandatory" | "advisory" | "disabled";

export interface Verdict {
  policy: string;
  description: string;
  enforcementLevel: "mandatory" | "advisory";
  message: string;
  urn?: string;
  type?: string;
  name?: string;
}

export interface PolicyConfig {
  [policyName: string]: EnforcementLevel | { enforcementLevel?: EnforcementLevel };
}

type Policy = ResourceValidationPolicy | StackValidationPolicy;

/** The pack's default level (index.ts). */
const PACK_LEVEL: EnforcementLevel = "mandatory";
const LEVELS: readonly EnforcementLevel[] = ["mandatory", "advisory", "disabled"];
/** Policy config key that sets the level of every policy of the pack. */
const ALL = "all";

/** Thrown by `notApplicable()`; the harness catches it, as the analyzer does. */
class NotApplicable extends Error {
  constructor(public readonly reason?: string) {
    super(reason ?? "Policy does not apply");
  }
}
function notApplicable(reason?: string): never {
  throw new NotApplicable(reason);
}

export function evaluatePolicies(
  resources: readonly RecordedResource[],
  config: PolicyConfig = {},
): Verdict[] {
  checkConfig(config, allPolicies);
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const verdicts: Verdict[] = [];
  for (const policy of allPolicies) {
    const level = levelOf(policy, config);
    if (level === "disabled") continue;
    const verdict = (message: string, urn?: string): Verdict => {
      const r = urn === undefined ? undefined : byUrn.get(urn);
      return {
        policy: policy.name,
        description: policy.description,
        enforcementLevel: level,
        message,
        ...(urn === undefined ? {} : { urn }),
        ...(r ? { type: r.type, name: r.name } : {}),
      };
    };
    const getConfig = makeGetConfig(policy, config);
    if ("validateStack" in policy && typeof policy.validateStack === "function") {
      const report: ReportViolation = (message, urn) => verdicts.push(verdict(message, urn));
      const args: StackValidationArgs = {
        resources: stackResources(resources, byUrn),
        stackTags: new Map(),
        getConfig,
        notApplicable,
      };
      run(policy, "the stack", () => policy.validateStack(args, report));
    } else if ("validateResource" in policy && policy.validateResource) {
      const validations = Array.isArray(policy.validateResource)
        ? policy.validateResource
        : [policy.validateResource];
      for (const resource of resources) {
        // A resource policy's `urn` argument is ignored: the violation is the resource's.
        const report: ReportViolation = (message) => verdicts.push(verdict(message, resource.urn));
        for (const validation of validations) {
          // The analyzer skips a single typed validation for other types without calling it.
          const typed = pulumiType(validation);
          if (!Array.isArray(policy.validateResource) && typed && typed !== resource.type) continue;
          const args = resourceArgs(resource, byUrn, getConfig);
          run(policy, resource.urn, () => validation(args, report));
        }
      }
    }
  }
  return verdicts;
}

/** Reads a CrossGuard policy config file (`--policy-pack-config`): name → level or object. */
export function readPolicyConfig(file: string): PolicyConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`policy config ${file} is not readable JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`policy config ${file} must be an object of policy name → config`);
  }
  const config: PolicyConfig = {};
  for (const [name, value] of Object.entries(parsed)) {
    const level = typeof value === "string" ? value : (value as { enforcementLevel?: unknown });
    const given = typeof level === "string" ? level : level?.enforcementLevel;
    const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
    if (!(typeof value === "string" || isObject)) {
      throw new Error(
        `policy config ${file}: \`${name}\` must be a level or { "enforcementLevel": … }`,
      );
    }
    if (given !== undefined && !LEVELS.includes(given as EnforcementLevel)) {
      throw new Error(
        `policy config ${file}: \`${name}\` has enforcement level ${JSON.stringify(given)}; ` +
          `use ${LEVELS.join(", ")} (the cutover pack has no remediations)`,
      );
    }
    config[name] = value as PolicyConfig[string];
  }
  return config;
}

// ------------------------------------------------------------------------------------------

function configLevel(entry: PolicyConfig[string] | undefined): EnforcementLevel | undefined {
  if (entry === undefined) return undefined;
  return typeof entry === "string" ? entry : entry.enforcementLevel;
}

function levelOf(policy: Policy, config: PolicyConfig): "mandatory" | "advisory" | "disabled" {
  const own = policy.enforcementLevel === "remediate" ? "mandatory" : policy.enforcementLevel;
  return configLevel(config[policy.name]) ?? configLevel(config[ALL]) ?? own ?? PACK_LEVEL;
}

/** A config that names an unknown policy or level is a typo that would silently do nothing. */
function checkConfig(config: PolicyConfig, policies: readonly Policy[]): void {
  const names = new Set(policies.map((p) => p.name));
  for (const [name, entry] of Object.entries(config)) {
    if (name !== ALL && !names.has(name)) {
      throw new Error(`policy config names \`${name}\`, which is not a policy of the cutover pack`);
    }
    const level = configLevel(entry);
    if (level !== undefined && !LEVELS.includes(level)) {
      throw new Error(
        `policy config \`${name}\` has level ${JSON.stringify(level)}; use ${LEVELS.join(", ")}`,
      );
    }
  }
}

/** The policy's config properties: schema defaults, overridden by the config entry. */
function makeGetConfig(policy: Policy, config: PolicyConfig): <T extends object>() => T {
  return <T extends object>() => {
    const entry = config[policy.name];
    const given = typeof entry === "object" ? entry : {};
    const { enforcementLevel: _level, ...properties } = given as Record<string, unknown>;
    void _level;
    return { ...schemaDefaults(policy.configSchema), ...properties } as T;
  };
}

function schemaDefaults(schema: PolicyConfigSchema | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(schema?.properties ?? {})) {
    if (property.default !== undefined) out[key] = property.default;
  }
  return out;
}

function run(policy: Policy, where: string, validate: () => unknown): void {
  let result: unknown;
  try {
    result = validate();
  } catch (e) {
    if (e instanceof NotApplicable) return;
    throw new Error(`policy ${policy.name} failed on ${where}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (result && typeof (result as { then?: unknown }).then === "function") {
    throw new Error(
      `policy ${policy.name} returned a promise; the offline harness runs synchronous policies only`,
    );
  }
}

function pulumiType(validation: ResourceValidation): string | undefined {
  const t = (validation as { __pulumiType?: unknown }).__pulumiType;
  return typeof t === "string" && t.length > 0 ? t : undefined;
}

/** `isType` as the analyzer implements it: the class's type token, else its `isInstance`. */
function isTypeOf(type: string, resourceClass: unknown): boolean {
  const cls = resourceClass as {
    __pulumiType?: unknown;
    isInstance?: (o: unknown) => boolean;
  };
  if (typeof cls.__pulumiType === "string" && cls.__pulumiType.length > 0) {
    return cls.__pulumiType === type;
  }
  return typeof cls.isInstance === "function" && cls.isInstance({ __pulumiType: type }) === true;
}

function options(r: RecordedResource): PolicyResourceOptions {
  return {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
    ...(r.parent ? { parent: r.parent } : {}),
  };
}

/** The provider of a resource: its reference is `<provider urn>::<provider id>`. */
function providerOf(
  r: RecordedResource,
  byUrn: ReadonlyMap<string, RecordedResource>,
): PolicyProviderResource | undefined {
  if (!r.provider) return undefined;
  const urn = r.provider.slice(0, r.provider.lastIndexOf("::"));
  const p = byUrn.get(urn);
  const parts = urn.split("::");
  return {
    type: p?.type ?? parts[2]?.split("$").pop() ?? "",
    name: p?.name ?? parts[3] ?? "",
    urn,
    props: (unwrapSecrets(p?.inputs ?? {}) ?? {}) as Record<string, unknown>,
  };
}

function resourceArgs(
  r: RecordedResource,
  byUrn: ReadonlyMap<string, RecordedResource>,
  getConfig: <T extends object>() => T,
): ResourceValidationArgs {
  // Fresh props per validation, as the analyzer deserializes them per call.
  const props = unwrapSecrets(r.inputs) as Record<string, unknown>;
  const provider = providerOf(r, byUrn);
  const args: ResourceValidationArgs = {
    type: r.type,
    props,
    urn: r.urn,
    name: r.name,
    opts: options(r),
    stackTags: new Map(),
    isType: (cls: { new (...rest: never[]): Resource }) => isTypeOf(r.type, cls),
    asType: <TResource extends Resource, TArgs>(cls: {
      new (name: string, args: TArgs, ...rest: never[]): TResource;
    }) => (isTypeOf(r.type, cls) ? (props as never) : undefined),
    getConfig,
    notApplicable,
  };
  if (provider) args.provider = provider;
  return args;
}

function stackResources(
  resources: readonly RecordedResource[],
  byUrn: ReadonlyMap<string, RecordedResource>,
): PolicyResource[] {
  const out = new Map<string, PolicyResource>();
  for (const r of resources) {
    const props = unwrapSecrets(r.state) as Record<string, unknown>;
    const resource: PolicyResource = {
      type: r.type,
      props,
      urn: r.urn,
      name: r.name,
      opts: options(r),
      dependencies: [],
      propertyDependencies: {},
      isType: (cls: { new (...rest: never[]): Resource }) => isTypeOf(r.type, cls),
      asType: (cls: { new (...rest: never[]): Resource }) =>
        isTypeOf(r.type, cls) ? (props as never) : undefined,
    };
    const provider = providerOf(r, byUrn);
    if (provider) resource.provider = provider;
    out.set(r.urn, resource);
  }
  for (const r of resources) {
    const parent = r.parent ? out.get(r.parent) : undefined;
    if (parent) out.get(r.urn)!.parent = parent;
  }
  return [...out.values()];
}
