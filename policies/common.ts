import { PolicyProviderResource, PolicyResource, UnknownValueError } from "@pulumi/policy";
import { TARGET_TAG } from "../components/tags";

/**
 * Helpers shared by the rule modules. Rules read raw program inputs (resource policies) or
 * outputs (stack policies), exactly as CrossGuard hands them over: an absent property means the
 * provider default, and during `pulumi preview` a property may still be unknown.
 */

export { TARGET_TAG };

/** The deployment targets a stack can be (the values of the `cutover:target` tag). */
export const TARGETS = ["dev", "stage", "prod"] as const;
export type Target = (typeof TARGETS)[number];

export function isTarget(value: unknown): value is Target {
  return typeof value === "string" && (TARGETS as readonly string[]).includes(value);
}

/** Anything that carries resource properties and, maybe, its provider's. */
export interface WithProvider {
  readonly props: Record<string, unknown>;
  readonly urn: string;
  readonly provider?: PolicyProviderResource;
}

/**
 * Reads a value that may be unknown during preview. Returns `undefined` instead of throwing, for
 * the stack rules that have a second way to reach the same fact (property dependencies).
 */
export function known<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    if (e instanceof UnknownValueError) return undefined;
    throw e;
  }
}

/** Parses a JSON string; returns objects as they are. `undefined` when it is neither. */
export function parseJson(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A single value or a list, as IAM and many provider inputs allow; always a list. */
export function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * The provider's `defaultTags.tags`. The program passes an object; in real CLI state (and on
 * the wire under mocks) provider inputs hold nested objects as JSON strings, so both are read.
 */
export function providerDefaultTags(
  provider: PolicyProviderResource | undefined,
): Record<string, unknown> {
  const defaultTags = parseJson(provider?.props?.defaultTags);
  if (!isRecord(defaultTags)) return {};
  const tags = parseJson(defaultTags.tags);
  return isRecord(tags) ? tags : {};
}

/** The `cutover:target` tag: the resource's own `tags`, else its provider's `defaultTags`. */
export function targetTag(resource: WithProvider): unknown {
  const own = parseJson(resource.props.tags);
  if (isRecord(own) && own[TARGET_TAG] !== undefined) return own[TARGET_TAG];
  return providerDefaultTags(resource.provider)[TARGET_TAG];
}

/** The stack name inside a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`). */
export function stackOfUrn(urn: string): string | undefined {
  return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1];
}

/**
 * The target a resource belongs to: its `cutover:target` tag (own, else the provider's
 * default tags). Resources that cannot carry tags and have no AWS provider (remote components
 * such as `awsx:ec2:Vpc`) fall back to the stack name when it is a target name, since cutover
 * names its stacks after their targets. `undefined` when none of these says.
 */
export function targetOf(resource: WithProvider): Target | undefined {
  const tag = targetTag(resource);
  if (tag !== undefined) return isTarget(tag) ? tag : undefined;
  const stack = stackOfUrn(resource.urn);
  return isTarget(stack) ? stack : undefined;
}

/** Stack resources of the given types. */
export function ofTypes(
  resources: readonly PolicyResource[],
  types: readonly string[],
): PolicyResource[] {
  return resources.filter((r) => types.includes(r.type));
}

/** URNs of the resources a property of `resource` was computed from (empty under mocks). */
export function dependencyUrns(resource: PolicyResource, property: string): Set<string> {
  return new Set((resource.propertyDependencies?.[property] ?? []).map((d) => d.urn));
}

/** Known string values of a property (a string or a list of strings). */
export function knownStrings(read: () => unknown): string[] {
  return asList(known(read)).filter((v): v is string => typeof v === "string");
}

// ------------------------------------------------------------------------------------------
// IAM policy documents
// ------------------------------------------------------------------------------------------

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect?: string;
  readonly Action?: unknown;
  readonly NotAction?: unknown;
  readonly Principal?: unknown;
  readonly Resource?: unknown;
  readonly Condition?: unknown;
}

/**
 * The statements of an IAM policy document given as a JSON string or an object; `undefined` when
 * the document cannot be read as one.
 */
export function statementsOf(document: unknown): PolicyStatement[] | undefined {
  const doc = parseJson(document);
  if (!isRecord(doc)) return undefined;
  const statements = asList(doc.Statement);
  if (!statements.every(isRecord)) return undefined;
  return statements as PolicyStatement[];
}

/** A statement's actions, as written (IAM accepts a string or a list). */
export function actionsOf(statement: PolicyStatement): string[] {
  return asList(statement.Action).filter((a): a is string => typeof a === "string");
}

export function isAllow(statement: PolicyStatement): boolean {
  return statement.Effect === "Allow";
}

/** `Sid` when the statement has one, else its position: for messages. */
export function statementLabel(statement: PolicyStatement, index: number): string {
  return statement.Sid ? `statement ${JSON.stringify(statement.Sid)}` : `statement ${index + 1}`;
}
