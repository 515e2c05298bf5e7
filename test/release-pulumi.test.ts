import { ConcurrentUpdateError, OutputMap } from "@pulumi/pulumi/automation";
import { releaseParameterName, versionHost } from "../components/naming";
import { runStack } from "../engine/run";
import { Clock } from "../release/orchestrator";
import { isConcurrentUpdate, retryOnConcurrentUpdate, toStackOutputs } from "../release/pulumi";
import { parseReleaseState, serializeReleaseState } from "../release/state";

/** The Pulumi side of the release command, without the Pulumi CLI. */

/** A clock whose `sleep` only moves time forward and records how long it was asked to wait. */
function steppingClock(): Clock & { waits: number[] } {
  let t = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => t,
    sleep: async (ms) => {
      waits.push(ms);
      t += ms;
    },
  };
}

const busy = () =>
  new ConcurrentUpdateError("[409] Conflict: Another update is currently in progress.");

describe("retrying an update while another one runs", () => {
  it("waits with doubling, capped delays until the stack is free", async () => {
    // GIVEN a stack busy for the first five attempts
    const clock = steppingClock();
    let attempts = 0;
    const up = async () => {
      if (++attempts <= 5) throw busy();
      return "updated";
    };

    // WHEN the update is retried
    const result = await retryOnConcurrentUpdate(up, clock, () => undefined, {
      maxWaitMs: 600_000,
      firstDelayMs: 5_000,
      maxDelayMs: 30_000,
    });

    // THEN it succeeded on the sixth attempt after 5, 10, 20, 30, 30 seconds
    expect(result).toBe("updated");
    expect(clock.waits).toEqual([5_000, 10_000, 20_000, 30_000, 30_000]);
  });

  it("gives up once the total wait would pass its limit", async () => {
    // GIVEN a stack that stays busy
    const clock = steppingClock();
    const up = async () => {
      throw busy();
    };

    // WHEN the update is retried for at most a minute
    const result = retryOnConcurrentUpdate(up, clock, () => undefined, {
      maxWaitMs: 60_000,
      firstDelayMs: 5_000,
      maxDelayMs: 60_000,
    });

    // THEN the conflict is thrown after 5 + 10 + 20 seconds of waiting
    await expect(result).rejects.toBeInstanceOf(ConcurrentUpdateError);
    expect(clock.waits).toEqual([5_000, 10_000, 20_000]);
  });

  it("does not retry any other failure", async () => {
    // GIVEN an update failing for a reason other than a concurrent update
    const clock = steppingClock();
    const up = jest.fn(async () => {
      throw new Error("error: creating ECS Service: AccessDeniedException");
    });

    // WHEN it is run, THEN it fails at once
    await expect(retryOnConcurrentUpdate(up, clock, () => undefined)).rejects.toThrow(
      /AccessDenied/,
    );
    expect(up).toHaveBeenCalledTimes(1);
    expect(clock.waits).toEqual([]);
    expect(isConcurrentUpdate(busy())).toBe(true);
  });
});

describe("the stack outputs the release command reads", () => {
  const SHA = "3f9c2ab0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6";
  const NEXT = "9d1e0f4aa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6";

  it("are what index.ts exports for the release state the command writes", async () => {
    // GIVEN api's release state as the release command stores it: a canary of NEXT at 10%
    const state = parseReleaseState(
      { versions: [SHA, NEXT], live: { [SHA]: 90, [NEXT]: 10 }, slots: { [SHA]: 1, [NEXT]: 2 } },
      "test",
    ).state!;
    const parameter = releaseParameterName("cutover", "dev", "api");

    // WHEN the dev stack runs through the program offline with that parameter
    const { outputs } = await runStack({
      stack: "dev",
      parameters: { [parameter]: JSON.stringify(serializeReleaseState(state)) },
    });
    const map: OutputMap = Object.fromEntries(
      Object.entries(outputs).map(([k, value]) => [k, { value, secret: false }]),
    );
    const parsed = toStackOutputs(map);

    // THEN the release command finds the live split, each version's host, target group and
    // alarms, and the parameter path it wrote to
    const api = parsed.services.api;
    expect(api.live).toEqual(state.live);
    expect(Object.keys(api.versions).sort()).toEqual([SHA, NEXT].sort());
    expect(api.versions[NEXT].host).toBe(versionHost("api", NEXT, "dev.example.com"));
    expect(api.versions[NEXT].targetGroupArn).toMatch(/^arn:aws:.*targetgroup\/dev-api-9d1e0f4/);
    expect(api.versions[NEXT].alarmNames).toHaveLength(2);
    expect(parsed.services.web.live).toEqual([]);
    expect(parameter.startsWith(parsed.releaseParameterPath!)).toBe(true);
  });

  it("are refused with a clear message when their shape is not the program's", () => {
    // GIVEN outputs of an older program without `services.<name>.versions`
    const map: OutputMap = {
      services: { value: { api: { liveHost: "api.dev.example.com", live: [] } }, secret: false },
    };

    // WHEN they are read, THEN the missing key is named
    expect(() => toStackOutputs(map)).toThrow(/services\.api\.versions/);
  });
});
