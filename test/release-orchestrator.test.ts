import { liveHost, shortSha, targetGroupName, versionHost } from "../components/naming";
import {
  CheckResult,
  Clock,
  exitCode,
  LockAttempt,
  LockInfo,
  Outcome,
  release,
  ReleaseBackend,
  ReleaseOptions,
  rollback,
  ServiceContext,
  StackOutputs,
  StateConflictError,
  StateRevision,
  TargetHealth,
  Timings,
} from "../release/orchestrator";
import { retryOnConcurrentUpdate } from "../release/pulumi";
import {
  describeLive,
  LiveTarget,
  parseReleaseState,
  ReleaseState,
  serializeReleaseState,
} from "../release/state";

/**
 * The release pipeline against an in-memory target: SSM parameters with version numbers, a stack
 * whose `up` reads every service's state when it starts, takes time, refuses a second concurrent
 * update (retried by the same helper the real stack uses), and computes the outputs index.ts
 * exports; target health, HTTP answers, checks and alarms scripted per SHA. Time is virtual: a
 * release with a 5-minute bake takes milliseconds.
 */

// ---------------------------------------------------------------------------------------------
// The fake target
// ---------------------------------------------------------------------------------------------

/** A clock whose time moves only when every piece of work is waiting on it. */
class VirtualClock implements Clock {
  private t = Date.parse("2025-01-01T00:00:00Z");
  private seq = 0;
  private timers: { at: number; seq: number; fire: () => void }[] = [];

  now = () => this.t;

  sleep = (ms: number) =>
    new Promise<void>((fire) => {
      this.timers.push({ at: this.t + Math.max(0, ms), seq: this.seq++, fire });
    });

  /** Runs `work` to completion, advancing time from timer to timer. */
  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    const done = work.finally(() => (settled = true));
    done.catch(() => undefined);
    for (;;) {
      // Every promise chain settles before a macrotask runs; the fake does no real I/O.
      await new Promise((resolve) => setImmediate(resolve));
      if (settled) return done;
      if (this.timers.length === 0) throw new Error("work is stuck on something other than time");
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift()!;
      this.t = next.at;
      next.fire();
    }
  }
}

const SERVICES = ["api", "web"];
const DOMAIN = "dev.example.com";
const TASKS = 2;

const A = "aaaaaaa1111111111111111111111111111111111".slice(0, 40);
const B = "bbbbbbb2222222222222222222222222222222222".slice(0, 40);
const C = "ccccccc3333333333333333333333333333333333".slice(0, 40);
const D = "ddddddd4444444444444444444444444444444444".slice(0, 40);

interface UpFault {
  readonly error: string;
  /** The update applied its changes before failing (the live rule may have moved). */
  readonly applied?: boolean;
}

class FakeTarget {
  readonly clock = new VirtualClock();
  /** SSM: every version of every parameter, oldest first. */
  readonly ssm = new Map<string, { version: number; text: string }[]>();
  readonly locks = new Map<string, LockInfo>();
  /** What the last successful (or applied) update deployed. */
  deployed: Record<string, ReleaseState> = {};
  /** Every live split the load balancer served, in order, per service. */
  readonly liveHistory: Record<string, string[]> = {};
  private readonly since = new Map<string, number>();
  private running = false;
  ups = 0;
  concurrentRejections = 0;
  readonly checkCalls: { command: string; env: Readonly<Record<string, string>> }[] = [];
  readonly writes: { service: string; state: ReleaseState }[] = [];

  // -- script --
  upDurationMs = 30_000;
  healthyAfterMs = 40_000;
  upFault: (n: number, states: Record<string, ReleaseState>) => UpFault | undefined = () =>
    undefined;
  healthy: (sha: string) => boolean = () => true;
  httpStatus: (sha: string) => number | undefined = () => undefined;
  checks: (sha: string) => CheckResult = () => ({ ok: true, output: "all checks passed" });
  alarm: (sha: string, weight: number) => boolean = () => false;
  storeDown = false;
  /** Images pushed, `<service>/<sha>`: every SHA unless a test says otherwise. */
  pushed: (service: string, sha: string) => boolean = () => true;
  /** Images currently pinned (tagged deployed-<sha>), `<service>/<sha>`. */
  readonly pinned = new Set<string>();
  /** Runs before each state write: lets a test write behind the release's back. */
  beforeWrite: (service: string) => void = () => undefined;

  /** Seeds a service's release state, deployed as if by an earlier release. */
  seed(service: string, raw: Parameters<typeof parseReleaseState>[0]) {
    const state = parseReleaseState(raw, service).state!;
    this.put(service, state);
    this.deploy({ ...this.deployed, [service]: state });
    for (const v of state.versions) this.since.set(`${service}/${v.sha}`, -Infinity);
  }

  state(service: string): ReleaseState {
    const history = this.ssm.get(service);
    if (!history) return { versions: [], live: [] };
    return parseReleaseState(JSON.parse(history[history.length - 1].text), service).state!;
  }

  put(service: string, state: ReleaseState): number {
    const history = this.ssm.get(service) ?? [];
    const version = history.length + 1;
    history.push({ version, text: JSON.stringify(serializeReleaseState(state)) });
    this.ssm.set(service, history);
    return version;
  }

  weight(service: string, sha: string): number {
    return this.deployed[service]?.live.find((l) => l.sha === sha)?.weight ?? 0;
  }

  isDeployed(service: string, sha: string): boolean {
    return this.deployed[service]?.versions.some((v) => v.sha === sha) ?? false;
  }

  private ready(service: string, sha: string): boolean {
    const since = this.since.get(`${service}/${sha}`);
    return (
      this.isDeployed(service, sha) &&
      this.healthy(sha) &&
      since !== undefined &&
      this.clock.now() - since >= this.healthyAfterMs
    );
  }

  private deploy(states: Record<string, ReleaseState>) {
    for (const service of SERVICES) {
      for (const v of states[service]?.versions ?? []) {
        if (!this.isDeployed(service, v.sha))
          this.since.set(`${service}/${v.sha}`, this.clock.now());
      }
      const split = describeLive(states[service]?.live ?? []);
      const seen = (this.liveHistory[service] ??= []);
      if (seen[seen.length - 1] !== split) seen.push(split);
    }
    this.deployed = states;
  }

  /** Which service and SHA a target group ARN, alarm name or host belongs to. */
  private owner(text: string): { service: string; sha: string } | undefined {
    for (const service of SERVICES) {
      for (const v of this.deployed[service]?.versions ?? []) {
        if (text.includes(targetGroupName("dev", service, v.sha, 8080)))
          return { service, sha: v.sha };
        if (text.includes(`-${service}-${v.short}-`)) return { service, sha: v.sha };
        if (text.includes(`//${versionHost(service, v.sha, DOMAIN)}/`)) {
          return { service, sha: v.sha };
        }
      }
    }
    return undefined;
  }

  private outputs(): StackOutputs {
    return {
      region: "eu-west-1",
      domain: DOMAIN,
      releaseParameterPath: "/cutover/dev/releases/",
      services: Object.fromEntries(
        SERVICES.map((service) => {
          const state = this.deployed[service] ?? { versions: [], live: [] };
          return [
            service,
            {
              liveHost: liveHost(service, DOMAIN),
              live: state.live,
              versions: Object.fromEntries(
                state.versions.map((v) => [
                  v.sha,
                  {
                    host: versionHost(service, v.sha, DOMAIN),
                    targetGroupArn: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/${targetGroupName("dev", service, v.sha, 8080)}/0123456789abcdef`,
                    alarmNames: [
                      `cutover-dev-${service}-${v.short}-5xx-rate`,
                      `cutover-dev-${service}-${v.short}-p95-latency`,
                    ],
                    ecsService: `${service}-${v.short}`,
                  },
                ]),
              ),
            },
          ];
        }),
      ),
    };
  }

  private async upOnce(): Promise<StackOutputs> {
    if (this.running) {
      this.concurrentRejections++;
      const error = new Error("[409] Conflict: Another update is currently in progress.");
      error.name = "ConcurrentUpdateError";
      throw error;
    }
    this.running = true;
    try {
      const n = ++this.ups;
      // The program reads every service's release state when it starts.
      const states = Object.fromEntries(SERVICES.map((s) => [s, this.state(s)]));
      await this.clock.sleep(this.upDurationMs);
      const fault = this.upFault(n, states);
      if (fault?.applied) this.deploy(states);
      if (fault) throw new Error(fault.error);
      this.deploy(states);
      return this.outputs();
    } finally {
      this.running = false;
    }
  }

  backend(): ReleaseBackend {
    const store = () => {
      if (this.storeDown) throw new Error("connect ETIMEDOUT ssm.eu-west-1.amazonaws.com");
    };
    return {
      now: this.clock.now,
      sleep: this.clock.sleep,
      readState: async (service) => {
        store();
        const history = this.ssm.get(service);
        return { state: this.state(service), version: history?.[history.length - 1].version };
      },
      writeState: async (service, state, expected) => {
        store();
        this.beforeWrite(service);
        const current = this.ssm.get(service)?.length;
        if (current !== expected) {
          throw new StateConflictError(`at version ${current}, not ${expected}`, false);
        }
        this.writes.push({ service, state });
        return this.put(service, state);
      },
      history: async (service, limit): Promise<StateRevision[]> =>
        [...(this.ssm.get(service) ?? [])].reverse().slice(0, limit),
      lock: async (service, info): Promise<LockAttempt> => {
        store();
        const held = this.locks.get(service);
        if (held && Date.parse(held.expires) > this.clock.now()) {
          return {
            acquired: false,
            heldBy: held,
            parameter: `/cutover/dev/release-locks/${service}`,
          };
        }
        this.locks.set(service, info);
        const ours = async () => this.locks.get(service)?.id === info.id;
        return {
          acquired: true,
          tookOver: held,
          stillHeld: ours,
          release: async () => {
            if (await ours()) this.locks.delete(service);
          },
        };
      },
      lockHolder: async (service) => this.locks.get(service),
      up: () =>
        retryOnConcurrentUpdate(
          () => this.upOnce(),
          this.clock,
          () => undefined,
        ),
      outputs: async () => this.outputs(),
      targetHealth: async (arn): Promise<TargetHealth> => {
        const none = { healthy: 0, unhealthy: 0, initial: 0, draining: 0, other: 0, reasons: [] };
        const who = this.owner(arn);
        if (!who) return none;
        if (!this.healthy(who.sha)) {
          return { ...none, unhealthy: TASKS, reasons: ["Target.ResponseCodeMismatch"] };
        }
        return this.ready(who.service, who.sha)
          ? { ...none, healthy: TASKS }
          : { ...none, initial: TASKS };
      },
      httpGet: async (url) => {
        const who = this.owner(url);
        if (!who) return { error: "fetch failed (ENOTFOUND)" };
        return {
          status: this.httpStatus(who.sha) ?? (this.ready(who.service, who.sha) ? 200 : 503),
        };
      },
      runChecks: async (command, env) => {
        this.checkCalls.push({ command, env });
        await this.clock.sleep(20_000);
        return this.checks(env.CUTOVER_VERSION);
      },
      alarmsInAlarm: async (names) =>
        names.filter((name) => {
          const who = this.owner(name);
          return who !== undefined && this.alarm(who.sha, this.weight(who.service, who.sha));
        }),
      pinImage: async (service, sha) => {
        if (!this.pushed(service, sha)) return "missing";
        this.pinned.add(`${service}/${sha}`);
        return "pinned";
      },
      unpinImage: async (service, sha) => {
        this.pinned.delete(`${service}/${sha}`);
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const TIMINGS: Partial<Timings> = { healthPollMs: 10_000, bakePollMs: 15_000, httpRetryMs: 5_000 };

function context(service = "api", runId = `run-${service}`): ServiceContext {
  return {
    stack: "dev",
    target: "dev",
    domain: DOMAIN,
    service,
    healthPath: "/health",
    minHealthy: TASKS,
    owner: `ci ${runId}`,
    runId,
  };
}

function options(sha: string, over: Partial<ReleaseOptions> = {}): ReleaseOptions {
  return {
    sha,
    canary: [],
    bakeMs: 0,
    keep: 1,
    checks: "npm run smoke",
    skipSlowChecks: false,
    healthTimeoutMs: 600_000,
    ...over,
  };
}

async function releaseIn(
  world: FakeTarget,
  sha: string,
  over: Partial<ReleaseOptions> = {},
  service = "api",
): Promise<{ outcome: Outcome; lines: string[] }> {
  const lines: string[] = [];
  const outcome = await world.clock.run(
    release(world.backend(), context(service), options(sha, over), (l) => lines.push(l), TIMINGS),
  );
  return { outcome, lines };
}

async function rollbackIn(world: FakeTarget, service = "api") {
  const lines: string[] = [];
  const outcome = await world.clock.run(
    rollback(world.backend(), context(service), (l) => lines.push(l), TIMINGS),
  );
  return { outcome, lines };
}

const live = (sha: string): LiveTarget[] => [{ sha, weight: 100 }];
const shas = (state: ReleaseState | undefined) => (state?.versions ?? []).map((v) => v.sha);

/**
 * The invariant every scenario ends with: the load balancer serves `expected` alone (or "no
 * release"), that version is healthy, the store says the same, and the lock is free.
 */
function expectLiveOn(world: FakeTarget, service: string, expected: string | "no release") {
  const served = world.deployed[service]?.live ?? [];
  if (expected === "no release") {
    expect(served).toEqual([]);
  } else {
    expect(served).toEqual(live(expected));
    expect(world.isDeployed(service, expected)).toBe(true);
    expect(world.healthy(expected)).toBe(true);
  }
  expect(world.state(service).live).toEqual(served);
  expect(world.locks.has(service)).toBe(false);
}

/** A target where `api` runs A, released earlier. */
function withLiveA(): FakeTarget {
  const world = new FakeTarget();
  world.seed("api", { versions: [A], live: A, slots: { [A]: 1 } });
  return world;
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

describe("release", () => {
  it("puts the first version of a service live and reports every step with its elapsed time", async () => {
    // GIVEN a service that was never released
    const world = new FakeTarget();

    // WHEN version A is released
    const { outcome, lines } = await releaseIn(world, A, { skipSlowChecks: true });

    // THEN A is live alone, and each step printed a progress line with elapsed time
    expect(outcome.kind).toBe("done");
    expect(exitCode(outcome)).toBe(0);
    expect(outcome.live).toEqual(live(A));
    expectLiveOn(world, "api", A);
    for (const step of ["stage", "verify", "promote", "up", "retire"]) {
      expect(lines.some((l) => new RegExp(`^\\[\\+\\d+(s|m\\d\\ds)\\] ${step}: `).test(l))).toBe(
        true,
      );
    }
    // AND the check command ran against the version's own host, told to skip slow checks
    expect(world.checkCalls).toEqual([
      {
        command: "npm run smoke",
        env: expect.objectContaining({
          CUTOVER_BASE_URL: `https://api-${shortSha(A)}.${DOMAIN}`,
          CUTOVER_SKIP_SLOW_CHECKS: "1",
          CUTOVER_VERSION: A,
        }),
      },
    ]);
  });

  it("gives the new version the lowest free rule slot and never moves an existing slot", async () => {
    // GIVEN A live in slot 2 and slot 1 free
    const world = new FakeTarget();
    world.seed("api", { versions: [A], live: A, slots: { [A]: 2 } });

    // WHEN B is released, keeping one previous version
    await releaseIn(world, B);

    // THEN B took slot 1 and A kept slot 2
    expect(world.state("api").versions).toEqual([
      { sha: A, short: shortSha(A), slot: 2 },
      { sha: B, short: shortSha(B), slot: 1 },
    ]);
  });

  it("does not set CUTOVER_SKIP_SLOW_CHECKS unless asked to", async () => {
    // GIVEN A live
    const world = withLiveA();

    // WHEN B is released without --skip-slow-checks
    await releaseIn(world, B);

    // THEN the check command's environment has no CUTOVER_SKIP_SLOW_CHECKS
    expect(world.checkCalls).toHaveLength(1);
    expect(world.checkCalls[0].env).not.toHaveProperty("CUTOVER_SKIP_SLOW_CHECKS");
  });

  it("moves live traffic through the canary weights, baking at each, then retires beyond keep", async () => {
    // GIVEN A live
    const world = withLiveA();
    const start = world.clock.now();

    // WHEN B is released with canary steps 10 and 50, a 5-minute bake, keeping no old version
    const { outcome } = await releaseIn(world, B, { canary: [10, 50], bakeMs: 300_000, keep: 0 });

    // THEN the load balancer served 10/90, 50/50, then B alone; A was retired afterwards
    expect(outcome.kind).toBe("done");
    const b = shortSha(B);
    const a = shortSha(A);
    expect(world.liveHistory.api).toEqual([a, `${a} 90% + ${b} 10%`, `${a} 50% + ${b} 50%`, b]);
    expect(shas(world.deployed.api)).toEqual([B]);
    expectLiveOn(world, "api", B);
    // AND it baked three times (10%, 50%, 100%)
    expect(world.clock.now() - start).toBeGreaterThanOrEqual(3 * 300_000);
  });

  it("keeps the previous live version deployed after a release, as the rollback target", async () => {
    // GIVEN C live, with B and A deployed before it
    const world = new FakeTarget();
    world.seed("api", { versions: [A, B, C], live: C, slots: { [A]: 1, [B]: 2, [C]: 3 } });

    // WHEN D is released with keep 1
    await releaseIn(world, D, { keep: 1 });

    // THEN only C (the previous live one) and D remain
    expect(shas(world.state("api"))).toEqual([C, D]);
    expect(shas(world.deployed.api)).toEqual([C, D]);
    expectLiveOn(world, "api", D);
  });

  it("retires the candidate and never moves live when the stage update fails", async () => {
    // GIVEN A live and the update that stages B failing
    const world = withLiveA();
    world.upFault = (n) => (n === 1 ? { error: "creating ECS service: AccessDenied" } : undefined);

    // WHEN B is released
    const { outcome } = await releaseIn(world, B);

    // THEN the release is rejected (exit 3), B is gone from store and stack, A still live
    expect(outcome.kind).toBe("rejected");
    expect(exitCode(outcome)).toBe(3);
    expect(outcome.message).toContain("AccessDenied");
    expect(shas(world.state("api"))).toEqual([A]);
    expect(shas(world.deployed.api)).toEqual([A]);
    expect(world.liveHistory.api).toEqual([shortSha(A)]);
    expectLiveOn(world, "api", A);
  });

  it("exits 1 when the stage update fails and removing the candidate fails too", async () => {
    // GIVEN A live and every update failing
    const world = withLiveA();
    world.upFault = () => ({ error: "ThrottlingException" });

    // WHEN B is released
    const { outcome } = await releaseIn(world, B);

    // THEN it is an unrecovered infrastructure error, but live traffic never left A
    expect(outcome.kind).toBe("failed");
    expect(exitCode(outcome)).toBe(1);
    expect(outcome.message).toContain("removing the candidate failed too");
    expect(world.liveHistory.api).toEqual([shortSha(A)]);
    expectLiveOn(world, "api", A);
  });

  it("gives up after the health timeout when the new version never becomes healthy", async () => {
    // GIVEN A live and B whose targets never pass their health check
    const world = withLiveA();
    world.healthy = (sha) => sha !== B;
    const start = world.clock.now();

    // WHEN B is released with a 2-minute health timeout
    const { outcome, lines } = await releaseIn(world, B, { healthTimeoutMs: 120_000 });

    // THEN it waited the full timeout, removed B and left A live (exit 3)
    expect(outcome.kind).toBe("rejected");
    expect(outcome.message).toMatch(/fewer than 2 healthy target\(s\) after 2m00s/);
    expect(outcome.message).toContain("Target.ResponseCodeMismatch");
    expect(world.clock.now() - start).toBeGreaterThanOrEqual(120_000);
    expect(lines.some((l) => l.includes("waiting for 2 healthy target(s)"))).toBe(true);
    expect(shas(world.state("api"))).toEqual([A]);
    expectLiveOn(world, "api", A);
    expect(world.checkCalls).toHaveLength(0);
  });

  it("rejects a version whose host fails the built-in health check after retries", async () => {
    // GIVEN A live and B whose targets are healthy but whose host answers 502
    const world = withLiveA();
    world.httpStatus = (sha) => (sha === B ? 502 : undefined);

    // WHEN B is released
    const { outcome } = await releaseIn(world, B);

    // THEN verification fails (exit 3) before the check command runs; A stays live
    expect(outcome.kind).toBe("rejected");
    expect(outcome.message).toContain(
      `https://api-${shortSha(B)}.${DOMAIN}/health answered HTTP 502 (3 attempts)`,
    );
    expect(world.checkCalls).toHaveLength(0);
    expectLiveOn(world, "api", A);
  });

  it("rejects a version whose checks fail and shows what the checks printed", async () => {
    // GIVEN A live and checks that fail for B
    const world = withLiveA();
    world.checks = (sha) =>
      sha === B
        ? { ok: false, output: "POST /orders: expected 201, got 500\n(exited with 1)" }
        : { ok: true, output: "" };

    // WHEN B is released
    const { outcome } = await releaseIn(world, B);

    // THEN exit 3, the message carries the checks' output, B is removed, A live
    expect(exitCode(outcome)).toBe(3);
    expect(outcome.message).toContain("expected 201, got 500");
    expect(shas(world.state("api"))).toEqual([A]);
    expect(world.liveHistory.api).toEqual([shortSha(A)]);
    expectLiveOn(world, "api", A);
  });

  it("moves live back to the previous version when an alarm fires during the canary", async () => {
    // GIVEN A live and B whose 5xx alarm fires once it takes half the traffic
    const world = withLiveA();
    world.alarm = (sha, weight) => sha === B && weight >= 50;

    // WHEN B is released with canary 10,50
    const { outcome } = await releaseIn(world, B, { canary: [10, 50], bakeMs: 120_000 });

    // THEN live went back to A (exit 3); B never had all the traffic and stays deployed, not live
    expect(outcome.kind).toBe("rejected");
    expect(outcome.message).toContain(`alarm cutover-dev-api-${shortSha(B)}-5xx-rate`);
    expect(outcome.message).toContain("fired at 50%");
    const a = shortSha(A);
    const b = shortSha(B);
    expect(world.liveHistory.api).toEqual([a, `${a} 90% + ${b} 10%`, `${a} 50% + ${b} 50%`, a]);
    expect(shas(world.state("api"))).toEqual([A, B]);
    expectLiveOn(world, "api", A);
  });

  it("moves live back to the previous version when a promote update fails half-applied", async () => {
    // GIVEN A live and the update that sends 50% to B failing after it moved the live rule
    const world = withLiveA();
    world.upFault = (_n, states) =>
      states.api.live.some((l) => l.sha === B && l.weight === 50)
        ? { error: "waiting for ECS service: timeout", applied: true }
        : undefined;

    // WHEN B is released with canary 10,50
    const { outcome } = await releaseIn(world, B, { canary: [10, 50] });

    // THEN live is back on A (exit 3)
    expect(exitCode(outcome)).toBe(3);
    expect(world.liveHistory.api.at(-2)).toBe(`${shortSha(A)} 50% + ${shortSha(B)} 50%`);
    expectLiveOn(world, "api", A);
  });

  it("exits 1 and says to run rollback when moving live back fails too", async () => {
    // GIVEN A live, and every update after B was staged failing without applying
    const world = withLiveA();
    world.upFault = (n) => (n >= 2 ? { error: "Internal Failure" } : undefined);

    // WHEN B is released
    const { outcome } = await releaseIn(world, B);

    // THEN it is an unrecovered infrastructure error naming the rollback command; the load
    // balancer, which no update reached, still serves A, and the store says A again as well
    expect(outcome.kind).toBe("failed");
    expect(outcome.message).toContain("npm run release -- rollback --stack dev --service api");
    expect(outcome.liveConfirmed).toBe(false);
    expect(world.deployed.api.live).toEqual(live(A));
    expect(world.state("api").live).toEqual(live(A));
  });

  it("returns to no release when the first version of a service raises an alarm", async () => {
    // GIVEN a service never released, and A alarming as soon as it takes traffic
    const world = new FakeTarget();
    world.alarm = (sha, weight) => sha === A && weight > 0;

    // WHEN A is released (a canary is skipped: nothing is live to share traffic with)
    const { outcome, lines } = await releaseIn(world, A, { canary: [10], bakeMs: 60_000 });

    // THEN the live host is back to "no release" (exit 3)
    expect(outcome.kind).toBe("rejected");
    expect(lines.some((l) => l.includes("there is no canary"))).toBe(true);
    expect(outcome.live).toEqual([]);
    expectLiveOn(world, "api", "no release");
  });

  it("reports an unrecovered error when retiring old versions fails, with the new version live", async () => {
    // GIVEN A live, and the update that retires A failing
    const world = withLiveA();
    world.upFault = (_n, states) =>
      states.api.live[0]?.sha === B && states.api.versions.length === 1
        ? { error: "deleting target group: ResourceInUse" }
        : undefined;

    // WHEN B is released keeping no previous version
    const { outcome } = await releaseIn(world, B, { keep: 0 });

    // THEN exit 1, but B is live and healthy; the store already lists only B for the next update
    expect(outcome.kind).toBe("failed");
    expect(outcome.message).toContain(`${shortSha(B)} is live, but retiring old versions failed`);
    expect(world.deployed.api.live).toEqual(live(B));
    expect(shas(world.state("api"))).toEqual([B]);
    expect(world.locks.size).toBe(0);
  });

  it("deploys both releases when two services of one target release at the same time", async () => {
    // GIVEN api on A and web on C
    const world = withLiveA();
    world.seed("web", { versions: [C], live: C, slots: { [C]: 1 } });

    // WHEN api releases B and web releases D at the same moment, with canaries
    const lines: string[] = [];
    const [api, web] = await world.clock.run(
      Promise.all([
        release(
          world.backend(),
          context("api"),
          options(B, { canary: [25], bakeMs: 60_000 }),
          (l) => lines.push(l),
          TIMINGS,
        ),
        release(
          world.backend(),
          context("web"),
          options(D, { canary: [50], bakeMs: 90_000 }),
          (l) => lines.push(l),
          TIMINGS,
        ),
      ]),
    );

    // THEN both succeed and both are live: neither update undid the other
    expect(api.kind).toBe("done");
    expect(web.kind).toBe("done");
    expectLiveOn(world, "api", B);
    expectLiveOn(world, "web", D);
    expect(shas(world.deployed.api)).toEqual([A, B]);
    expect(shas(world.deployed.web)).toEqual([C, D]);
    // AND they really overlapped: updates collided and were retried
    expect(world.concurrentRejections).toBeGreaterThan(0);
  });

  it("refuses a second release of the same service while one is running", async () => {
    // GIVEN A live
    const world = withLiveA();

    // WHEN B and C of api are released at the same moment
    const [first, second] = await world.clock.run(
      Promise.all([
        release(world.backend(), context("api", "run-1"), options(B), () => undefined, TIMINGS),
        release(world.backend(), context("api", "run-2"), options(C), () => undefined, TIMINGS),
      ]),
    );

    // THEN the second is refused before changing anything (exit 2) and names the holder
    expect(first.kind).toBe("done");
    expect(second.kind).toBe("refused");
    expect(exitCode(second)).toBe(2);
    expect(second.message).toContain("ci run-1 is running a release of bbbbbbb of api");
    expect(world.writes.every((w) => shas(w.state).every((s) => s !== C))).toBe(true);
    expectLiveOn(world, "api", B);
  });

  it("takes over the lock of a release that was interrupted long ago", async () => {
    // GIVEN A live and a lock left by a release that expired an hour ago
    const world = withLiveA();
    const past = new Date(world.clock.now() - 3_600_000).toISOString();
    world.locks.set("api", {
      id: "old",
      owner: "ci run-0",
      action: "release",
      since: past,
      expires: past,
    });

    // WHEN B is released
    const { outcome, lines } = await releaseIn(world, B);

    // THEN it proceeds and says whose lock it took over
    expect(outcome.kind).toBe("done");
    expect(lines.some((l) => l.includes("took over the expired lock of ci run-0"))).toBe(true);
    expectLiveOn(world, "api", B);
  });

  it("stops without further changes when its lock is taken away during the release", async () => {
    // GIVEN A live, and someone deleting the lock while B is being verified
    const world = withLiveA();
    world.checks = () => {
      world.locks.delete("api");
      return { ok: true, output: "" };
    };

    // WHEN B is released
    const { outcome } = await releaseIn(world, B);

    // THEN it stops (exit 1) without promoting B: live stays on A
    expect(outcome.kind).toBe("failed");
    expect(outcome.message).toContain("was taken over or deleted");
    expect(world.state("api").live).toEqual(live(A));
    expect(world.deployed.api.live).toEqual(live(A));
  });

  it("applies its change again on the fresh state when the store changed since it was read", async () => {
    // GIVEN A live, and another writer rewriting api's state just before the release's first write
    const world = withLiveA();
    let intruded = false;
    world.beforeWrite = (service) => {
      if (intruded) return;
      intruded = true;
      world.put(service, world.state(service));
    };

    // WHEN B is released
    const { outcome, lines } = await releaseIn(world, B);

    // THEN the write was retried on top of the other writer's version and the release went on
    expect(outcome.kind).toBe("done");
    expect(lines.some((l) => l.includes("changed since it was read"))).toBe(true);
    expect(world.ssm.get("api")![1].text).toBe(world.ssm.get("api")![0].text);
    expectLiveOn(world, "api", B);
  });

  it("checks a version that is already deployed again but does not retire it when it fails", async () => {
    // GIVEN B live with A still deployed before it, and A's checks now failing
    const world = new FakeTarget();
    world.seed("api", { versions: [A, B], live: B, slots: { [A]: 1, [B]: 2 } });
    world.checks = (sha) => ({ ok: sha !== A, output: "broken" });

    // WHEN A is released again
    const { outcome } = await releaseIn(world, A);

    // THEN the release is rejected and A stays deployed, as it was before
    expect(outcome.kind).toBe("rejected");
    expect(shas(world.state("api"))).toEqual([A, B]);
    expectLiveOn(world, "api", B);
  });

  it("retires a version rolled back from at the next release, keeping the last good one", async () => {
    // GIVEN A live; B then fails in its canary and stays deployed but not live
    const world = withLiveA();
    world.alarm = (sha, weight) => sha === B && weight > 0;
    await releaseIn(world, B, { canary: [10] });
    world.alarm = () => false;

    // WHEN C is released with keep 1, then rolled back
    const released = await releaseIn(world, C, { keep: 1 });
    const back = await rollbackIn(world);

    // THEN C replaced A, B was retired, and rollback went to A, not to the failed B
    expect(released.outcome.kind).toBe("done");
    expect(shas(world.state("api"))).toEqual([A, C]);
    expect(back.outcome.kind).toBe("done");
    expectLiveOn(world, "api", A);
  });

  it("undoes the promotion and frees the lock when interrupted during a bake", async () => {
    // GIVEN A live, and the release interrupted (Ctrl-C) while B bakes at 10%
    const world = withLiveA();
    const interrupt = new AbortController();
    world.alarm = (_sha, weight) => {
      if (weight === 10) interrupt.abort();
      return false;
    };

    // WHEN B is released with canary 10 and a 10-minute bake
    const start = world.clock.now();
    const outcome = await world.clock.run(
      release(
        world.backend(),
        { ...context(), signal: interrupt.signal },
        options(B, { canary: [10], bakeMs: 600_000 }),
        () => undefined,
        TIMINGS,
      ),
    );

    // THEN it stopped waiting at once, moved live back to A (exit 3) and released its lock
    expect(world.clock.now() - start).toBeLessThan(600_000);
    expect(outcome.kind).toBe("rejected");
    expect(outcome.message).toContain("interrupted");
    expect(world.liveHistory.api).toEqual([
      shortSha(A),
      `${shortSha(A)} 90% + ${shortSha(B)} 10%`,
      shortSha(A),
    ]);
    expectLiveOn(world, "api", A);
  });

  it("retires the candidate when interrupted before promotion", async () => {
    // GIVEN A live, and the release interrupted while B's checks run
    const world = withLiveA();
    const interrupt = new AbortController();
    world.checks = () => {
      interrupt.abort();
      return { ok: true, output: "" };
    };

    // WHEN B is released
    const outcome = await world.clock.run(
      release(
        world.backend(),
        { ...context(), signal: interrupt.signal },
        options(B),
        () => undefined,
        TIMINGS,
      ),
    );

    // THEN B is removed and live traffic never moved
    expect(outcome.kind).toBe("rejected");
    expect(shas(world.state("api"))).toEqual([A]);
    expect(world.liveHistory.api).toEqual([shortSha(A)]);
    expectLiveOn(world, "api", A);
  });

  describe("refuses before changing anything", () => {
    it("when the version is already live", async () => {
      // GIVEN A live
      const world = withLiveA();

      // WHEN A is released again
      const { outcome } = await releaseIn(world, A);

      // THEN it is refused (exit 2) with no write and no update
      expect(exitCode(outcome)).toBe(2);
      expect(outcome.message).toContain("already live");
      expect(world.writes).toHaveLength(0);
      expect(world.ups).toBe(0);
      expectLiveOn(world, "api", A);
    });

    it("when an interrupted canary is still splitting traffic", async () => {
      // GIVEN A and B sharing traffic, left by an interrupted release
      const world = new FakeTarget();
      world.seed("api", {
        versions: [A, B],
        live: { [A]: 90, [B]: 10 },
        slots: { [A]: 1, [B]: 2 },
      });

      // WHEN C is released
      const { outcome } = await releaseIn(world, C);

      // THEN it is refused and points at rollback
      expect(outcome.kind).toBe("refused");
      expect(outcome.message).toContain("rollback");
      expect(world.writes).toHaveLength(0);
    });

    it("when the new SHA shares its short form with a deployed one", async () => {
      // GIVEN A live
      const world = withLiveA();
      const twin = `${A.slice(0, 7)}${"f".repeat(33)}`;

      // WHEN a different SHA with A's first 7 characters is released
      const { outcome } = await releaseIn(world, twin);

      // THEN it is refused: its host and resource names would collide with A's
      expect(outcome.kind).toBe("refused");
      expect(outcome.message).toContain(`shares the short SHA ${shortSha(A)}`);
      expect(world.writes).toHaveLength(0);
    });
  });

  it("exits 1 without changing anything when the release state store is unreachable", async () => {
    // GIVEN A live and SSM unreachable
    const world = withLiveA();
    world.storeDown = true;

    // WHEN B is released
    const { outcome } = await releaseIn(world, B);

    // THEN exit 1 and nothing changed
    expect(outcome.kind).toBe("failed");
    expect(outcome.message).toContain("ETIMEDOUT");
    expect(world.ups).toBe(0);
    expect(world.deployed.api.live).toEqual(live(A));
  });
});

describe("rollback", () => {
  it("points live back to the previous deployed version in one update", async () => {
    // GIVEN B live with A deployed before it
    const world = new FakeTarget();
    world.seed("api", { versions: [A, B], live: B, slots: { [A]: 1, [B]: 2 } });

    // WHEN api is rolled back
    const { outcome } = await rollbackIn(world);

    // THEN A is live after one update (exit 0), and B stays deployed
    expect(exitCode(outcome)).toBe(0);
    expect(world.ups).toBe(1);
    expect(shas(world.state("api"))).toEqual([A, B]);
    expectLiveOn(world, "api", A);
  });

  it("ends a canary by giving all traffic back to the older version", async () => {
    // GIVEN A and B sharing traffic
    const world = new FakeTarget();
    world.seed("api", { versions: [A, B], live: { [A]: 50, [B]: 50 }, slots: { [A]: 1, [B]: 2 } });

    // WHEN api is rolled back
    const { outcome } = await rollbackIn(world);

    // THEN A has all the traffic
    expect(outcome.kind).toBe("done");
    expectLiveOn(world, "api", A);
  });

  it("refuses when no previous version is deployed", async () => {
    // GIVEN A live and nothing before it
    const world = withLiveA();

    // WHEN api is rolled back
    const { outcome } = await rollbackIn(world);

    // THEN it is refused (exit 2) and A stays live
    expect(exitCode(outcome)).toBe(2);
    expect(outcome.message).toContain("no version of api deployed before");
    expect(world.ups).toBe(0);
    expectLiveOn(world, "api", A);
  });

  it("refuses when nothing was ever released", async () => {
    // GIVEN a service never released
    const world = new FakeTarget();

    // WHEN it is rolled back
    const { outcome } = await rollbackIn(world);

    // THEN it is refused and the live host still answers "no release"
    expect(outcome.kind).toBe("refused");
    expectLiveOn(world, "api", "no release");
  });

  it("leaves live alone when the previous version has no healthy targets", async () => {
    // GIVEN B live and A deployed before it but unhealthy
    const world = new FakeTarget();
    world.seed("api", { versions: [A, B], live: B, slots: { [A]: 1, [B]: 2 } });
    world.healthy = (sha) => sha !== A;

    // WHEN api is rolled back
    const { outcome } = await rollbackIn(world);

    // THEN exit 3 and B stays live
    expect(exitCode(outcome)).toBe(3);
    expect(outcome.message).toContain("no healthy targets");
    expectLiveOn(world, "api", B);
  });

  it("exits 1 when the rollback update fails", async () => {
    // GIVEN B live with A before it, and updates failing
    const world = new FakeTarget();
    world.seed("api", { versions: [A, B], live: B, slots: { [A]: 1, [B]: 2 } });
    world.upFault = () => ({ error: "RequestExpired" });

    // WHEN api is rolled back
    const { outcome } = await rollbackIn(world);

    // THEN exit 1; the store already says A, which the next update applies
    expect(exitCode(outcome)).toBe(1);
    expect(outcome.message).toContain("running rollback again would go one more version back");
    expect(outcome.liveConfirmed).toBe(false);
    expect(world.state("api").live).toEqual(live(A));
    expect(world.deployed.api.live).toEqual(live(B));
  });
});

describe("deployed images are pinned against the repository's lifecycle rules", () => {
  test("refuses a version whose image was never pushed, before anything changes", async () => {
    // GIVEN api live on A, and no image pushed for B
    const t = withLiveA();
    t.pushed = (_service, sha) => sha !== B;
    // WHEN B is released
    const { outcome } = await releaseIn(t, B);
    // THEN it is refused (exit 2), nothing was written and no update ran
    expect(exitCode(outcome)).toBe(2);
    expect(outcome.message).toMatch(/no image of api is tagged .*; push it first/);
    expect(t.writes).toEqual([]);
    expect(t.ups).toBe(0);
  });

  test("pins the new version's image and unpins the versions it retires", async () => {
    // GIVEN A live with its image pinned, and B pushed
    const t = withLiveA();
    t.pinned.add(`api/${A}`);
    // WHEN B is released keeping no previous version
    const { outcome } = await releaseIn(t, B, { keep: 0 });
    // THEN B's image is pinned and A's is not any more
    expect(exitCode(outcome)).toBe(0);
    expect([...t.pinned]).toEqual([`api/${B}`]);
  });

  test("unpins a candidate that failed its checks", async () => {
    const t = withLiveA();
    t.pinned.add(`api/${A}`);
    t.checks = (sha) =>
      sha === B ? { ok: false, output: "smoke test failed" } : { ok: true, output: "" };
    const { outcome } = await releaseIn(t, B);
    expect(exitCode(outcome)).toBe(3);
    expect([...t.pinned]).toEqual([`api/${A}`]);
  });
});
