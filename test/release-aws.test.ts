import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { ECRClient } from "@aws-sdk/client-ecr";
import {
  AwsProbes,
  compareAndPut,
  EcrImages,
  lockParameterName,
  SsmStateStore,
} from "../release/aws";
import { LockInfo, StateConflictError } from "../release/orchestrator";
import { parseReleaseState } from "../release/state";

/**
 * The SSM store against a fake Parameter Store that behaves like the real one where it matters:
 * versions numbered serially per parameter, Overwrite=false refusing an existing name, `name:N`
 * selecting a version, deletion restarting the numbering. Every call yields to the event loop, so
 * concurrent writers interleave as they would over the network.
 */

class FakeSsm {
  readonly params = new Map<string, { value: string; version: number; modified: Date }[]>();
  /** Runs before each PutParameter lands: lets a test slip another write in. */
  beforePut: (name: string) => void = () => undefined;

  private error(name: string, message: string) {
    const e = new Error(message);
    e.name = name;
    return e;
  }

  write(name: string, value: string, overwrite: boolean): number {
    const history = this.params.get(name);
    if (history && !overwrite) throw this.error("ParameterAlreadyExists", `${name} exists`);
    const list = history ?? [];
    const version = (list.at(-1)?.version ?? 0) + 1;
    list.push({ value, version, modified: new Date(Date.UTC(2025, 0, 1, 0, version)) });
    this.params.set(name, list);
    return version;
  }

  client(): SSMClient {
    const send = async (command: unknown) => {
      await new Promise((resolve) => setImmediate(resolve));
      const input = (command as { input: Record<string, unknown> }).input;
      if (command instanceof GetParameterCommand) {
        const [name, v] = String(input.Name).split(":");
        const list = this.params.get(name);
        if (!list) throw this.error("ParameterNotFound", name);
        const p = v === undefined ? list.at(-1) : list.find((x) => x.version === Number(v));
        if (!p) throw this.error("ParameterVersionNotFound", String(input.Name));
        return { Parameter: { Name: name, Value: p.value, Version: p.version } };
      }
      if (command instanceof PutParameterCommand) {
        const name = String(input.Name);
        this.beforePut(name);
        return { Version: this.write(name, String(input.Value), input.Overwrite === true) };
      }
      if (command instanceof DeleteParameterCommand) {
        if (!this.params.delete(String(input.Name))) {
          throw this.error("ParameterNotFound", String(input.Name));
        }
        return {};
      }
      if (command instanceof GetParameterHistoryCommand) {
        const list = this.params.get(String(input.Name));
        if (!list) throw this.error("ParameterNotFound", String(input.Name));
        // Two per page, oldest first, as SSM pages its history.
        const start = Number(input.NextToken ?? 0);
        const page = list.slice(start, start + 2);
        return {
          Parameters: page.map((p) => ({
            Version: p.version,
            Value: p.value,
            LastModifiedDate: p.modified,
            LastModifiedUser: "arn:aws:sts::123456789012:assumed-role/deploy/ci",
          })),
          NextToken: start + 2 < list.length ? String(start + 2) : undefined,
        };
      }
      throw new Error(`the fake does not know ${(command as object).constructor.name}`);
    };
    return { send } as unknown as SSMClient;
  }
}

const NAME = "/cutover/dev/releases/api";
const A = "a".repeat(40);
const B = "b".repeat(40);

function store(ssm: FakeSsm, now = () => Date.parse("2025-01-01T00:00:00Z")) {
  return new SsmStateStore({
    ssm: ssm.client(),
    project: "cutover",
    target: "dev",
    clock: { now, sleep: async () => undefined },
  });
}

const lockInfo = (id: string, expires = "2025-01-01T03:00:00Z"): LockInfo => ({
  id,
  owner: `ci ${id}`,
  action: "release",
  since: "2025-01-01T00:00:00Z",
  expires,
});

describe("compareAndPut", () => {
  it("lets exactly one of two writers that read the same version succeed", async () => {
    // GIVEN a parameter at version 1
    const ssm = new FakeSsm();
    ssm.write(NAME, "v1", false);

    // WHEN two writers, both having read version 1, write at the same time
    const results = await Promise.allSettled([
      compareAndPut(ssm.client(), NAME, "first", { version: 1, value: "v1" }),
      compareAndPut(ssm.client(), NAME, "second", { version: 1, value: "v1" }),
    ]);

    // THEN exactly one succeeds and the other knows it conflicted
    const ok = results.filter((r) => r.status === "fulfilled");
    const conflicts = results
      .filter((r): r is PromiseRejectedResult => r.status === "rejected")
      .map((r) => r.reason);
    expect(ok).toHaveLength(1);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toBeInstanceOf(StateConflictError);
  });

  it("refuses without writing when the parameter moved on since it was read", async () => {
    // GIVEN a parameter read at version 1, then written by someone else
    const ssm = new FakeSsm();
    ssm.write(NAME, "v1", false);
    ssm.write(NAME, "theirs", true);

    // WHEN it is written expecting version 1
    const write = compareAndPut(ssm.client(), NAME, "ours", { version: 1, value: "v1" });

    // THEN the write is refused and nothing was written
    await expect(write).rejects.toMatchObject({ written: false });
    expect(ssm.params.get(NAME)!.map((p) => p.value)).toEqual(["v1", "theirs"]);
  });

  it("reports a write that slipped in between its check and its put, saying ours is on top", async () => {
    // GIVEN a parameter at version 1, and another writer landing just before our put
    const ssm = new FakeSsm();
    ssm.write(NAME, "v1", false);
    ssm.beforePut = () => {
      ssm.beforePut = () => undefined;
      ssm.write(NAME, "theirs", true);
    };

    // WHEN it is written expecting version 1
    const write = compareAndPut(ssm.client(), NAME, "ours", { version: 1, value: "v1" });

    // THEN the conflict is reported as written, naming the history command
    await expect(write).rejects.toMatchObject({
      written: true,
      message: expect.stringContaining("aws ssm get-parameter-history"),
    });
  });

  it("notices a parameter deleted and created again up to the same version", async () => {
    // GIVEN a parameter read at version 1, deleted and recreated before our put
    const ssm = new FakeSsm();
    ssm.write(NAME, "v1", false);
    ssm.beforePut = () => {
      ssm.beforePut = () => undefined;
      ssm.params.delete(NAME);
      ssm.write(NAME, "someone else's v1", false);
    };

    // WHEN it is written expecting version 1 with the value read
    const write = compareAndPut(ssm.client(), NAME, "ours", { version: 1, value: "v1" });

    // THEN the version number matches but the replaced value does not: a conflict
    await expect(write).rejects.toMatchObject({ written: true });
  });

  it("creates a missing parameter only once", async () => {
    // GIVEN no parameter, WHEN two writers create it at the same time
    const ssm = new FakeSsm();
    const results = await Promise.allSettled([
      compareAndPut(ssm.client(), NAME, "first", undefined),
      compareAndPut(ssm.client(), NAME, "second", undefined),
    ]);

    // THEN one creates it and the other is refused without writing
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(ssm.params.get(NAME)).toHaveLength(1);
  });
});

describe("the SSM release state store", () => {
  it("writes the document the Pulumi program reads and reads it back with its version", async () => {
    // GIVEN an empty store
    const ssm = new FakeSsm();
    const s = store(ssm);
    const first = await s.readState("api");
    const state = parseReleaseState({ versions: [A, B], live: { [A]: 90, [B]: 10 } }, "t").state!;

    // WHEN a state is written on top of "no release"
    const version = await s.writeState("api", state, first.version);

    // THEN it is version 1 at /cutover/dev/releases/api, as JSON the program parses
    expect(first).toEqual({ state: { versions: [], live: [] } });
    expect(version).toBe(1);
    const stored = JSON.parse(ssm.params.get(NAME)![0].value);
    expect(parseReleaseState(stored, "program").state).toEqual(state);
    expect(await s.readState("api")).toEqual({ state, version: 1 });
  });

  it("refuses a stale write and accepts it after a fresh read", async () => {
    // GIVEN a state read at version 1, then changed by someone else
    const ssm = new FakeSsm();
    const s = store(ssm);
    const state = parseReleaseState({ versions: [A], live: A }, "t").state!;
    await s.writeState("api", state, undefined);
    const read = await s.readState("api");
    ssm.write(NAME, ssm.params.get(NAME)![0].value, true);

    // WHEN written with the stale version, THEN it is refused without writing
    await expect(s.writeState("api", read.state, read.version)).rejects.toMatchObject({
      written: false,
    });
    // AND after reading again it goes through
    const fresh = await s.readState("api");
    await expect(s.writeState("api", fresh.state, fresh.version)).resolves.toBe(3);
  });

  it("explains how to recover when the stored state is not valid", async () => {
    // GIVEN a parameter someone edited by hand into invalid JSON
    const ssm = new FakeSsm();
    ssm.write(NAME, "{versions: [", false);

    // WHEN it is read, THEN the error names the parameter and the history command
    await expect(store(ssm).readState("api")).rejects.toThrow(
      /\/cutover\/dev\/releases\/api is not JSON; restore a good version: `aws ssm get-parameter-history/,
    );
  });

  it("lists the history newest first across pages", async () => {
    // GIVEN five versions
    const ssm = new FakeSsm();
    for (let i = 1; i <= 5; i++) ssm.write(NAME, `v${i}`, i > 1);

    // WHEN the last three are asked for, THEN they come newest first with who wrote them
    const history = await store(ssm).history("api", 3);
    expect(history.map((h) => [h.version, h.text])).toEqual([
      [5, "v5"],
      [4, "v4"],
      [3, "v3"],
    ]);
    expect(history[0].modifiedBy).toContain("assumed-role/deploy");
  });
});

describe("the release lock", () => {
  const LOCK = lockParameterName("cutover", "dev", "api");

  it("lives outside the path the Pulumi program reads release state from", () => {
    expect(LOCK).toBe("/cutover/dev/release-locks/api");
    expect(LOCK.startsWith("/cutover/dev/releases/")).toBe(false);
  });

  it("is held by one release at a time and names its holder to the others", async () => {
    // GIVEN release 1 holding api's lock
    const ssm = new FakeSsm();
    const first = await store(ssm).lock("api", lockInfo("r1"));

    // WHEN release 2 asks for it
    const second = await store(ssm).lock("api", lockInfo("r2"));

    // THEN it is refused with the holder and the parameter to delete if the holder is dead
    expect(first.acquired).toBe(true);
    expect(second).toMatchObject({ acquired: false, heldBy: { owner: "ci r1" }, parameter: LOCK });
  });

  it("is free again once released, and a release deletes only its own lock", async () => {
    // GIVEN release 1 holding the lock, taken over by release 2 after it expired
    const ssm = new FakeSsm();
    const first = await store(ssm).lock("api", lockInfo("r1", "2025-01-01T00:10:00Z"));
    const later = () => Date.parse("2025-01-01T01:00:00Z");
    const second = await store(ssm, later).lock("api", lockInfo("r2"));
    if (!first.acquired || !second.acquired) throw new Error("both should have been granted");

    // WHEN release 1 finally ends
    expect(await first.stillHeld()).toBe(false);
    await first.release();

    // THEN release 2 still holds the lock; once it releases, the lock is free
    expect(second.tookOver).toMatchObject({ id: "r1" });
    expect(await second.stillHeld()).toBe(true);
    await second.release();
    expect(ssm.params.has(LOCK)).toBe(false);
    expect((await store(ssm).lock("api", lockInfo("r3"))).acquired).toBe(true);
  });

  it("lets only one of two releases take over the same expired lock", async () => {
    // GIVEN an expired lock
    const ssm = new FakeSsm();
    await store(ssm).lock("api", lockInfo("r0", "2025-01-01T00:00:01Z"));
    const later = () => Date.parse("2025-01-01T01:00:00Z");

    // WHEN two releases take it over at the same time
    const [x, y] = await Promise.all([
      store(ssm, later).lock("api", lockInfo("r1")),
      store(ssm, later).lock("api", lockInfo("r2")),
    ]);

    // THEN never both may proceed
    const proceeding = [];
    for (const attempt of [x, y]) {
      if (attempt.acquired && (await attempt.stillHeld())) proceeding.push(attempt);
    }
    expect(proceeding.length).toBeLessThanOrEqual(1);
  });
});

describe("AWS probes", () => {
  it("counts target states and keeps the reasons of the unhealthy ones", async () => {
    // GIVEN a target group with one healthy, one initial and one failing target
    const send = jest.fn(async (command: unknown) => {
      expect(command).toBeInstanceOf(DescribeTargetHealthCommand);
      return {
        TargetHealthDescriptions: [
          { TargetHealth: { State: "healthy" } },
          { TargetHealth: { State: "initial", Reason: "Elb.RegistrationInProgress" } },
          { TargetHealth: { State: "unhealthy", Reason: "Target.Timeout" } },
        ],
      };
    });
    const probes = new AwsProbes(
      { send } as unknown as ElasticLoadBalancingV2Client,
      {} as CloudWatchClient,
    );

    // WHEN its health is read, THEN each state is counted
    expect(await probes.targetHealth("arn:tg")).toEqual({
      healthy: 1,
      initial: 1,
      unhealthy: 1,
      draining: 0,
      other: 0,
      reasons: ["Elb.RegistrationInProgress", "Target.Timeout"],
    });
  });

  it("asks CloudWatch only for alarms in ALARM state among the version's alarms", async () => {
    // GIVEN CloudWatch reporting one of two alarms firing
    const inputs: unknown[] = [];
    const send = jest.fn(async (command: unknown) => {
      expect(command).toBeInstanceOf(DescribeAlarmsCommand);
      inputs.push((command as DescribeAlarmsCommand).input);
      return { MetricAlarms: [{ AlarmName: "cutover-dev-api-aaaaaaa-5xx-rate" }] };
    });
    const probes = new AwsProbes(
      {} as ElasticLoadBalancingV2Client,
      { send } as unknown as CloudWatchClient,
    );
    const names = ["cutover-dev-api-aaaaaaa-5xx-rate", "cutover-dev-api-aaaaaaa-p95-latency"];

    // WHEN the alarms are read, THEN the firing one is returned from a filtered query
    expect(await probes.alarmsInAlarm(names)).toEqual(["cutover-dev-api-aaaaaaa-5xx-rate"]);
    expect(inputs).toEqual([expect.objectContaining({ AlarmNames: names, StateValue: "ALARM" })]);
  });
});

describe("EcrImages", () => {
  /** A fake ECR client: one image tagged SHA in cutover/dev/api, and the calls it received. */
  function fakeEcr(existing: Set<string>) {
    const calls: { name: string; input: Record<string, unknown> }[] = [];
    const client = {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        const name = command.constructor.name;
        calls.push({ name, input: command.input });
        if (name === "BatchGetImageCommand") {
          const tag = (command.input.imageIds as { imageTag: string }[])[0].imageTag;
          return existing.has(tag)
            ? {
                images: [
                  {
                    imageManifest: `{"manifest":"${tag}"}`,
                    imageManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
                  },
                ],
              }
            : { images: [], failures: [{ failureCode: "ImageNotFound" }] };
        }
        if (name === "PutImageCommand") {
          const tag = command.input.imageTag as string;
          if (existing.has(tag)) {
            throw Object.assign(new Error("tag exists"), { name: "ImageAlreadyExistsException" });
          }
          existing.add(tag);
          return {};
        }
        if (name === "BatchDeleteImageCommand") {
          existing.delete((command.input.imageIds as { imageTag: string }[])[0].imageTag);
          return {};
        }
        throw new Error(`unexpected ${name}`);
      },
    };
    return { client: client as unknown as ECRClient, calls, existing };
  }

  const SHA = "3f9c2ab0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6";

  test("pins the SHA's image with the deployed tag, on the same manifest", async () => {
    const ecr = fakeEcr(new Set([SHA]));
    const images = new EcrImages(ecr.client, "cutover", "dev");
    expect(await images.pinImage("api", SHA)).toBe("pinned");
    const put = ecr.calls.find((c) => c.name === "PutImageCommand")!;
    expect(put.input).toMatchObject({
      repositoryName: "cutover/dev/api",
      imageTag: `deployed-${SHA}`,
      imageManifest: `{"manifest":"${SHA}"}`,
    });
    // A second pin of the same SHA (a re-release) is not an error.
    expect(await images.pinImage("api", SHA)).toBe("pinned");
  });

  test("reports a SHA that was never pushed as missing and writes nothing", async () => {
    const ecr = fakeEcr(new Set());
    const images = new EcrImages(ecr.client, "cutover", "dev");
    expect(await images.pinImage("api", SHA)).toBe("missing");
    expect(ecr.calls.map((c) => c.name)).toEqual(["BatchGetImageCommand"]);
  });

  test("unpins by deleting only the deployed tag", async () => {
    const ecr = fakeEcr(new Set([SHA, `deployed-${SHA}`]));
    await new EcrImages(ecr.client, "cutover", "dev").unpinImage("api", SHA);
    expect([...ecr.existing]).toEqual([SHA]);
  });
});
