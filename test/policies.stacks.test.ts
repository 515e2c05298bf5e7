import * as fs from "fs";
import * as path from "path";
import { RecordedResource } from "../engine/mocks";
import { runStack } from "../engine/run";
import { evaluatePolicies, Verdict } from "../policies/evaluate";
import { TAGGABLE_AWS_TYPES } from "../policies/tagging";
import { withInputs } from "./fixtures/policies/builders";

/**
 * The cutover CrossGuard pack against the real stack files, run through index.ts under the
 * offline engine: they must plan with no mandatory violation, and the rules must see them.
 */

const of = (verdicts: Verdict[], policy: string) => verdicts.filter((v) => v.policy === policy);
const STACKS = ["dev", "stage", "prod"] as const;
const SHA = "3f9c2ab0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6";
const NEXT = "9d1e0f4aa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6";

/** Each stack as its file stands (no release yet) and with two versions of `api` deployed. */
const runs: Record<string, { bare: RecordedResource[]; released: RecordedResource[] }> = {};

beforeAll(async () => {
  for (const stack of STACKS) {
    const bare = (await runStack({ stack })).resources;
    const released = (
      await runStack({
        stack,
        parameters: {
          [`/cutover/${stack}/releases/api`]: JSON.stringify({
            versions: [SHA, NEXT],
            live: { [SHA]: 90, [NEXT]: 10 },
          }),
          [`/cutover/${stack}/releases/web`]: JSON.stringify({ versions: [SHA], live: SHA }),
        },
      })
    ).resources;
    runs[stack] = { bare, released };
  }
});

const mandatory = (verdicts: Verdict[]) =>
  verdicts
    .filter((v) => v.enforcementLevel === "mandatory")
    .map((v) => `${v.policy}: ${v.name}: ${v.message}`);

describe.each(STACKS)("the %s stack file", (stack) => {
  test("plans with no mandatory violation, before and after a release", () => {
    // GIVEN the stack as planned, and with versions deployed (task definitions, services)
    const { bare, released } = runs[stack];
    expect(released.some((r) => r.type === "aws:ecs/taskDefinition:TaskDefinition")).toBe(true);
    expect(bare.some((r) => r.type === "aws:lb/loadBalancer:LoadBalancer")).toBe(true);
    // WHEN the pack evaluates them
    // THEN nothing mandatory is reported
    expect(mandatory(evaluatePolicies(bare))).toEqual([]);
    expect(mandatory(evaluatePolicies(released))).toEqual([]);
  });

  test("is seen by the rules: breaking one of its resources is reported", () => {
    // GIVEN the released stack with the header check off and one container running as root
    const released = runs[stack].released;
    const task = released.find((r) => r.type === "aws:ecs/taskDefinition:TaskDefinition")!;
    const containers = JSON.parse(String(task.inputs.containerDefinitions)) as object[];
    const rootTask = withInputs(task, {
      containerDefinitions: JSON.stringify(containers.map((c) => ({ ...c, user: "root" }))),
    });
    const broken = released.map((r) => {
      if (r === task) return rootTask;
      if (r.type === "aws:lb/loadBalancer:LoadBalancer") {
        return withInputs(r, {
          dropInvalidHeaderFields: undefined,
          enableDeletionProtection: false,
        });
      }
      return r;
    });
    // WHEN the pack evaluates it
    const verdicts = evaluatePolicies(broken);
    // THEN the rules fire on exactly those resources, and the target comes from the real provider
    expect(of(verdicts, "elb-drop-invalid-headers").map((v) => v.name)).toEqual(["edge-alb"]);
    expect(of(verdicts, "ecs-task-non-root-user").map((v) => v.urn)).toEqual([task.urn]);
    expect(of(verdicts, "elb-deletion-protection-prod")).toHaveLength(stack === "prod" ? 1 : 0);
  });
});

test("prod's main protection and CI trust policies are seen by the GitHub and OIDC rules", () => {
  // GIVEN prod (the stack that protects main) with main open to force pushes and the deploy
  // role trusting every workflow of the repository
  const released = runs.prod.released;
  const main = released.find(
    (r) =>
      r.type === "github:index/branchProtection:BranchProtection" && r.inputs.pattern === "main",
  );
  const deploy = released.find(
    (r) =>
      r.type === "aws:iam/role:Role" &&
      String(r.inputs.assumeRolePolicy).includes(":environment:prod"),
  );
  expect(main && deploy).toBeDefined();
  const wide = String(deploy!.inputs.assumeRolePolicy).replace(
    /"repo:([^"]+?):environment:prod"/g,
    '"repo:$1:*"',
  );
  const broken = released.map((r) =>
    r === main
      ? withInputs(r, { allowsForcePushes: true })
      : r === deploy
        ? withInputs(r, { assumeRolePolicy: wide })
        : r,
  );
  // WHEN the pack evaluates it
  const verdicts = evaluatePolicies(broken);
  // THEN both are reported, on those resources
  expect(of(verdicts, "github-main-no-force-push").map((v) => v.urn)).toEqual([main!.urn]);
  expect(of(verdicts, "iam-github-oidc-trust").map((v) => v.urn)).toEqual([deploy!.urn]);
});

describe("taggable AWS types", () => {
  /** Does `node_modules/@pulumi/aws/<module>/<resource>.d.ts` give `<Resource>Args` a `tags?`? */
  function declaresTags(type: string): boolean {
    const m = /^aws:([^/]+)\/([^:]+):(.+)$/.exec(type);
    if (!m) throw new Error(`${type} is not an aws type token`);
    const [, module, file, resource] = m;
    const dir = path.dirname(require.resolve("@pulumi/aws/package.json"));
    const source = fs.readFileSync(
      path.join(dir, module === "index" ? "" : module, `${file}.d.ts`),
      "utf8",
    );
    const start = source.indexOf(`export interface ${resource}Args {`);
    if (start < 0) throw new Error(`${type}: no ${resource}Args in ${module}/${file}.d.ts`);
    const body = source.slice(start, source.indexOf("\n}", start));
    return /\n\s+tags\?:/.test(body);
  }

  test("agree with the provider's Args for every listed type and every type the stacks use", () => {
    // GIVEN every aws type the real stacks register (with a release) and every listed type
    const used = STACKS.flatMap((s) => runs[s].released.map((r) => r.type));
    const types = [
      ...new Set([...used.filter((t) => t.startsWith("aws:")), ...TAGGABLE_AWS_TYPES]),
    ];
    expect(types.length).toBeGreaterThan(TAGGABLE_AWS_TYPES.size);
    // THEN the list holds exactly those whose Args declare `tags`
    const disagreeing = types.filter((t) => TAGGABLE_AWS_TYPES.has(t) !== declaresTags(t));
    expect(disagreeing).toEqual([]);
  });
});
