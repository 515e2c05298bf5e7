import { RecordedResource } from "../engine/mocks";
import { runStack } from "../engine/run";
import { diffRuns, names } from "./support/diff";

/**
 * Blue/green must never touch more than it says. Each test runs the real stage stack file twice
 * under the offline engine, with the release state as the release command stores it in SSM, and
 * diffs what `pulumi up` would do between the two runs.
 */

const A = "aaaaaaa1111111111111111111111111111111111".slice(0, 40);
const B = "bbbbbbb2222222222222222222222222222222222".slice(0, 40);
const C = "ccccccc3333333333333333333333333333333333".slice(0, 40);

type Doc = {
  versions: string[];
  live?: string | Record<string, number>;
  slots?: Record<string, number>;
};

async function stageRun(api: Doc, web: Doc): Promise<RecordedResource[]> {
  const { resources } = await runStack({
    stack: "stage",
    parameters: {
      "/cutover/stage/releases/api": JSON.stringify(api),
      "/cutover/stage/releases/web": JSON.stringify(web),
    },
  });
  return resources;
}

const web: Doc = { versions: [B], live: B, slots: { [B]: 7 } };
const base: Doc = { versions: [A], live: A, slots: { [A]: 3 } };

describe("blast radius of a release (stage stack, two services)", () => {
  let baseline: RecordedResource[];
  beforeAll(async () => {
    baseline = await stageRun(base, web);
  });

  test("staging a new SHA only adds that version's resources", async () => {
    // GIVEN api runs A live; WHEN C is staged next to it
    const after = await stageRun({ versions: [A, C], live: A, slots: { [A]: 3, [C]: 4 } }, web);
    const diff = diffRuns(baseline, after);
    // THEN nothing existing changes or goes, and every addition belongs to api's version C
    expect(diff.changed).toEqual([]);
    expect(diff.deleted).toEqual([]);
    expect(diff.added.length).toBeGreaterThanOrEqual(6);
    for (const name of names(diff.added)) expect(name.startsWith("svc-api-ccccccc")).toBe(true);
    // ... including its target group, task definition, ECS service, host rule and both alarms
    const types = diff.added.map((u) => u.split("::")[2].split("$").pop());
    expect(types).toEqual(
      expect.arrayContaining([
        "aws:lb/targetGroup:TargetGroup",
        "aws:ecs/taskDefinition:TaskDefinition",
        "aws:ecs/service:Service",
        "aws:lb/listenerRule:ListenerRule",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
      ]),
    );
  });

  test("promoting a SHA changes only that service's live rule", async () => {
    // GIVEN A live and C staged
    const staged = await stageRun({ versions: [A, C], live: A, slots: { [A]: 3, [C]: 4 } }, web);
    // WHEN C is promoted
    const promoted = await stageRun({ versions: [A, C], live: C, slots: { [A]: 3, [C]: 4 } }, web);
    const diff = diffRuns(staged, promoted);
    // THEN exactly one resource changes: api's live rule, and only its actions
    expect(diff.added).toEqual([]);
    expect(diff.deleted).toEqual([]);
    expect(diff.changed.map((c) => names([c.urn])[0])).toEqual(["svc-api-live-rule"]);
    expect(diff.changed[0].keys).toEqual(["actions"]);
  });

  test("a canary step changes only the live rule's weights", async () => {
    const staged = await stageRun({ versions: [A, C], live: A, slots: { [A]: 3, [C]: 4 } }, web);
    const canary = await stageRun(
      { versions: [A, C], live: { [A]: 90, [C]: 10 }, slots: { [A]: 3, [C]: 4 } },
      web,
    );
    const diff = diffRuns(staged, canary);
    expect(diff.added).toEqual([]);
    expect(diff.deleted).toEqual([]);
    expect(diff.changed.map((c) => names([c.urn])[0])).toEqual(["svc-api-live-rule"]);
    const rule = canary.find((r) => r.name === "svc-api-live-rule")!;
    const forward = (
      rule.inputs.actions as { forward: { targetGroups: { weight: number }[] } }[]
    )[0].forward;
    expect(forward.targetGroups.map((t) => t.weight)).toEqual([90, 10]);
  });

  test("retiring a SHA only deletes that version's resources", async () => {
    // GIVEN C promoted with A kept for rollback; WHEN A is retired
    const before = await stageRun({ versions: [A, C], live: C, slots: { [A]: 3, [C]: 4 } }, web);
    const after = await stageRun({ versions: [C], live: C, slots: { [C]: 4 } }, web);
    const diff = diffRuns(before, after);
    // THEN only A's resources go; C's rule keeps its priority (no replacement)
    expect(diff.added).toEqual([]);
    expect(diff.changed).toEqual([]);
    expect(diff.deleted.length).toBeGreaterThanOrEqual(6);
    for (const name of names(diff.deleted)) expect(name.startsWith("svc-api-aaaaaaa")).toBe(true);
  });

  test("releasing one service never touches the platform or the other service", async () => {
    const after = await stageRun({ versions: [A, C], live: C, slots: { [A]: 3, [C]: 4 } }, web);
    const diff = diffRuns(baseline, after);
    const touched = [...diff.added, ...diff.deleted, ...diff.changed.map((c) => c.urn)];
    for (const urn of touched) {
      expect(urn).toMatch(/::svc-api-/);
    }
  });

  test("a version's rule priority does not depend on which other versions exist", async () => {
    // GIVEN state without recorded slots (as pinned by hand); WHEN another version comes and goes
    const one = await stageRun({ versions: [C] }, web);
    const two = await stageRun({ versions: [A, C] }, web);
    const priority = (rs: RecordedResource[]) =>
      rs.find((r) => r.name === "svc-api-ccccccc-rule")!.inputs.priority;
    // THEN C's rule keeps one priority throughout
    expect(priority(two)).toBe(priority(one));
  });

  test("a plain re-run with unchanged release state changes nothing", async () => {
    const again = await stageRun(base, web);
    expect(diffRuns(baseline, again)).toEqual({ added: [], deleted: [], changed: [] });
  });
});

test("changing a service's port gives its target groups new names, so each replacement can be created first", async () => {
  // GIVEN api with one version; WHEN its port changes
  const run = async (port: number) =>
    (
      await runStack({
        stack: "stage",
        overrides: {
          "cutover:services": { api: { port, healthCheckPath: "/health", cpu: 256, memory: 512 } },
          "cutover:releases": { api: { versions: [A], live: A } },
        },
      })
    ).resources.find((r) => r.type === "aws:lb/targetGroup:TargetGroup")!.inputs.name;
  // THEN the physical name differs (AWS refuses two target groups with one name)
  expect(await run(8080)).not.toBe(await run(9090));
});
