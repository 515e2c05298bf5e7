import { liveHost, shortSha } from "../components/naming";
import {
  describeLive,
  findVersion,
  isLive,
  LiveTarget,
  promotionOrder,
  ReleaseState,
  removeVersions,
  retirePlan,
  rollbackTarget,
  sameReleaseState,
  stageVersion,
  stagingProblem,
  withLive,
} from "./state";

/**
 * The release pipeline of one service, written against `ReleaseBackend` only: no AWS, no Pulumi,
 * no clock of its own. `aws.ts`, `pulumi.ts` and `checks.ts` implement the backend for real; the
 * tests implement it in memory and inject failures at every step.
 *
 * release:  1 stage    add the version to the release state (lowest free slot), `up`, wait until
 *                      its target group is healthy
 *           2 verify   HTTP health check of its own host, then the check command
 *           3 promote  move live traffic to it (through the canary weights, if any), `up` after
 *                      each change, bake while watching its alarms
 *           4 retire   keep the live version and `keep` previous ones, remove the rest, `up`
 * A failure in 1-2 retires the candidate; live traffic never moved. A failure or an alarm in 3
 * moves live traffic back to what it was before the release.
 *
 * rollback: live traffic back to the version deployed before the live one, in one step.
 */

// ---------------------------------------------------------------------------------------------
// The backend
// ---------------------------------------------------------------------------------------------

/** One version of a service as the stack reports it (`services.<name>.versions.<sha>`). */
export interface VersionOutputs {
  readonly host: string;
  readonly targetGroupArn: string;
  readonly alarmNames: readonly string[];
  readonly ecsService: string;
}

/** One service as the stack reports it (`services.<name>`). */
export interface ServiceOutputs {
  readonly liveHost: string;
  readonly live: readonly LiveTarget[];
  readonly versions: Readonly<Record<string, VersionOutputs>>;
}

/** The stack outputs the release command reads (index.ts). */
export interface StackOutputs {
  readonly services: Readonly<Record<string, ServiceOutputs>>;
  readonly releaseParameterPath?: string;
  readonly region?: string;
  readonly domain?: string;
}

/** A service's release state with the store version it was read at. */
export interface StoredState {
  readonly state: ReleaseState;
  /** Version of the stored document; `undefined` when the service has none yet. */
  readonly version?: number;
}

/** One earlier version of a service's release state, newest first in `history`. */
export interface StateRevision {
  readonly version: number;
  readonly modified?: Date;
  readonly modifiedBy?: string;
  /** The stored document as text (it may not parse: it is shown as it is). */
  readonly text: string;
}

/**
 * The store refused a write because the state changed since it was read. `written` says whether
 * this write landed anyway (on top of the other one): then the other writer's change is hidden
 * behind ours and a person should compare the two in the history.
 */
export class StateConflictError extends Error {
  constructor(
    message: string,
    public readonly written: boolean,
  ) {
    super(message);
    this.name = "StateConflictError";
  }
}

/** Who holds a service's release lock, and until when. */
export interface LockInfo {
  /** Unique per attempt, so two holders never mistake each other. */
  readonly id: string;
  /** Person or CI run, e.g. `alice@laptop` or `github acme/shop run 812`. */
  readonly owner: string;
  readonly action: "release" | "rollback";
  readonly sha?: string;
  /** ISO timestamps. A lock past `expires` may be taken over by the next release. */
  readonly since: string;
  readonly expires: string;
}

export interface HeldLock {
  readonly acquired: true;
  /** The expired lock this one replaced, if any (an interrupted release). */
  readonly tookOver?: LockInfo;
  /** Is the lock still ours? False once someone deleted or took it over. */
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

export type LockAttempt =
  HeldLock | { readonly acquired: false; readonly heldBy: LockInfo; readonly parameter: string };

/** Target group health, counted by target state (ELB DescribeTargetHealth). */
export interface TargetHealth {
  readonly healthy: number;
  readonly unhealthy: number;
  /** `initial`: registering, health checks not passed yet. */
  readonly initial: number;
  readonly draining: number;
  /** `unused`, `unavailable`, anything else. */
  readonly other: number;
  /** ELB's reasons for targets that are not healthy, e.g. `Target.ResponseCodeMismatch`. */
  readonly reasons: readonly string[];
}

export interface HttpResult {
  /** HTTP status, when a response arrived. */
  readonly status?: number;
  /** Why no response arrived (DNS, TLS, timeout...). */
  readonly error?: string;
}

export interface CheckResult {
  readonly ok: boolean;
  /** The end of what the command printed, for the error message. */
  readonly output: string;
}

/** Release state in the store (SSM in production). */
export interface StateStore {
  readState(service: string): Promise<StoredState>;
  /**
   * Writes `state` if the stored document is still at `expectedVersion` (`undefined`: none exists
   * yet). Returns the new version; throws `StateConflictError` when it is not.
   */
  writeState(
    service: string,
    state: ReleaseState,
    expectedVersion: number | undefined,
  ): Promise<number>;
  /** Earlier versions of the state, newest first. */
  history(service: string, limit: number): Promise<StateRevision[]>;
  /** Takes the service's release lock, or says who holds it. */
  lock(service: string, info: LockInfo): Promise<LockAttempt>;
  /** The current holder of the service's lock, if any. */
  lockHolder(service: string): Promise<LockInfo | undefined>;
}

/** The Pulumi stack of the target. */
export interface StackRunner {
  /** `pulumi up`: the program re-reads every service's release state first. */
  up(): Promise<StackOutputs>;
  /** The outputs of the last update, without updating. */
  outputs(): Promise<StackOutputs>;
}

/** What the release looks at to decide whether a version is good. */
export interface Probes {
  targetHealth(targetGroupArn: string): Promise<TargetHealth>;
  httpGet(url: string): Promise<HttpResult>;
  /** Runs the check command with `env` added to the environment. */
  runChecks(command: string, env: Readonly<Record<string, string>>): Promise<CheckResult>;
  /** The names among `names` whose alarm is in ALARM state. */
  alarmsInAlarm(names: readonly string[]): Promise<string[]>;
}

/**
 * The service's images: a deployed version's image is pinned (tagged `deployed-<sha>`) so the
 * repository's lifecycle rules never expire it, and unpinned when the version is retired.
 */
export interface Images {
  /** Pins the image tagged `sha`; `missing` when no such image was pushed. */
  pinImage(service: string, sha: string): Promise<"pinned" | "missing">;
  unpinImage(service: string, sha: string): Promise<void>;
}

export interface Clock {
  /** Milliseconds, any epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export type ReleaseBackend = StateStore & StackRunner & Probes & Images & Clock;

// ---------------------------------------------------------------------------------------------
// Inputs and results
// ---------------------------------------------------------------------------------------------

/** The service being released, as the stack file describes it. */
export interface ServiceContext {
  readonly stack: string;
  readonly target: string;
  readonly domain: string;
  readonly service: string;
  /** `services.<name>.healthCheckPath`. */
  readonly healthPath: string;
  /** Healthy targets a version needs before it is verified: its desired task count. */
  readonly minHealthy: number;
  /** Person or CI run, written into the lock. */
  readonly owner: string;
  /** Unique id of this invocation (the lock id). */
  readonly runId: string;
  /**
   * Aborts the waits (health, bake, retries): the command then undoes what it did, as after a
   * failure, and releases its lock. Set on SIGINT/SIGTERM by the CLI.
   */
  readonly signal?: AbortSignal;
}

export interface ReleaseOptions {
  /** Commit SHA, 7-40 hex characters (image tag). */
  readonly sha: string;
  /** Canary weights for the new version before 100, increasing, each 1-99. */
  readonly canary: readonly number[];
  /** Time to watch alarms after each promotion step. */
  readonly bakeMs: number;
  /** Previous versions to keep deployed after the release. */
  readonly keep: number;
  /** Shell command run against the new version's host. */
  readonly checks?: string;
  readonly skipSlowChecks: boolean;
  /** How long the new version's target group may take to become healthy. */
  readonly healthTimeoutMs: number;
}

export interface Timings {
  readonly healthPollMs: number;
  readonly bakePollMs: number;
  readonly httpAttempts: number;
  readonly httpRetryMs: number;
  /** A lock lives this long plus the waits a release plans (health timeout, bakes). */
  readonly lockMarginMs: number;
}

export const DEFAULT_TIMINGS: Timings = {
  healthPollMs: 10_000,
  bakePollMs: 15_000,
  httpAttempts: 3,
  httpRetryMs: 5_000,
  lockMarginMs: 2 * 60 * 60_000,
};

/**
 * How a command ended.
 * - `done`     it did what was asked (exit 0)
 * - `refused`  nothing was changed: bad input or a state that does not allow it (exit 2)
 * - `rejected` the version failed verification or was rolled back; live traffic is on the
 *              version that had it before (exit 3)
 * - `failed`   an infrastructure error left something unrecovered (exit 1)
 */
export type OutcomeKind = "done" | "refused" | "rejected" | "failed";

export interface Outcome {
  readonly kind: OutcomeKind;
  readonly message: string;
  /** Live traffic at the end, as far as known; `undefined` when unknown. */
  readonly live?: readonly LiveTarget[];
  /** False when the last `up` failed, so the load balancer may differ from `live`. */
  readonly liveConfirmed: boolean;
}

export const EXIT_CODES: Readonly<Record<OutcomeKind, number>> = {
  done: 0,
  failed: 1,
  refused: 2,
  rejected: 3,
};

export function exitCode(outcome: Outcome): number {
  return EXIT_CODES[outcome.kind];
}

/** The last line a command prints: what is live. */
export function liveLine(service: string, domain: string, outcome: Outcome): string {
  const host = `https://${liveHost(service, domain)}`;
  if (outcome.live === undefined)
    return `live: ${service} unknown (${host}); see the messages above`;
  const what = describeLive(outcome.live);
  const doubt = outcome.liveConfirmed ? "" : " (per the release state; the last up failed)";
  return outcome.live.length === 0
    ? `live: ${service} has no release; ${host} answers 503${doubt}`
    : `live: ${service} → ${what} at ${host}${doubt}`;
}

/** `0s`, `45s`, `3m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** Lost the lock mid-way: someone else now owns the service's release state. */
class LockLostError extends Error {}

/** The command was asked to stop (`ServiceContext.signal`). */
class Interrupted extends Error {
  constructor() {
    super("interrupted");
  }
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

export async function release(
  backend: ReleaseBackend,
  ctx: ServiceContext,
  options: ReleaseOptions,
  log: (line: string) => void,
  timings: Partial<Timings> = {},
): Promise<Outcome> {
  const run = new Run(backend, ctx, log, { ...DEFAULT_TIMINGS, ...timings });
  const sha = options.sha.toLowerCase();
  const steps = options.canary.length + 1;
  const ttl =
    run.t.lockMarginMs + options.healthTimeoutMs + steps * (options.bakeMs + run.t.bakePollMs);
  return run.locked("release", sha, ttl, () => run.release({ ...options, sha }));
}

export async function rollback(
  backend: ReleaseBackend,
  ctx: ServiceContext,
  log: (line: string) => void,
  timings: Partial<Timings> = {},
): Promise<Outcome> {
  const run = new Run(backend, ctx, log, { ...DEFAULT_TIMINGS, ...timings });
  return run.locked("rollback", undefined, run.t.lockMarginMs, () => run.rollback());
}

class Run {
  private readonly start: number;
  private lock?: HeldLock;
  /** What the stack last reported as live (or the store, before any up). */
  private live?: readonly LiveTarget[];
  private liveConfirmed = true;

  constructor(
    private readonly b: ReleaseBackend,
    private readonly ctx: ServiceContext,
    private readonly log: (line: string) => void,
    readonly t: Timings,
  ) {
    this.start = b.now();
  }

  // -- the release pipeline ---------------------------------------------------------------------

  async release(o: ReleaseOptions): Promise<Outcome> {
    const { service } = this.ctx;
    const sha = o.sha;
    const short = shortSha(sha);

    const before = await this.readOrFail();
    if ("kind" in before) return before;
    const { state } = before;
    this.live = state.live;
    if (isLive(state, sha)) {
      return this.refused(`${short} is already live for ${service} (${describeLive(state.live)})`);
    }
    if (state.live.length > 1) {
      return this.refused(
        `${service} is in the middle of a canary (${describeLive(state.live)}), left by an ` +
          "interrupted release; settle it with `rollback` first",
      );
    }
    const problem = stagingProblem(state, sha, service);
    if (problem) return this.refused(problem);
    try {
      if ((await this.b.pinImage(service, sha)) === "missing") {
        return this.refused(`no image of ${service} is tagged ${sha}; push it first`);
      }
    } catch (error) {
      return this.outcome("failed", `could not pin the image of ${short}: ${message(error)}`);
    }

    const previous = state.live;
    const previousSha = previous[0]?.sha;
    const wasDeployed = findVersion(state, sha) !== undefined;

    // 1 stage
    let version: VersionOutputs;
    try {
      let staged = state;
      if (wasDeployed) {
        this.say("stage", `${short} is already deployed; checking it again`);
      } else {
        const written = await this.update((s) => stageVersion(s, sha));
        staged = written.state;
        const slot = findVersion(staged, sha)!.slot;
        this.say("stage", `added ${short} in slot ${slot} (release state v${written.version})`);
      }
      const svc = await this.apply(staged, `stage ${short}`);
      version = svc.versions[sha];
      await this.waitHealthy(version.targetGroupArn, this.ctx.minHealthy, o.healthTimeoutMs);
    } catch (error) {
      return this.abandon(sha, !wasDeployed, "stage", error);
    }

    // 2 verify
    try {
      await this.verify(sha, version, o);
      // A command that ignored the interruption must not lead to a promotion.
      if (this.ctx.signal?.aborted) throw new Interrupted();
    } catch (error) {
      return this.abandon(sha, !wasDeployed, "verify", error);
    }

    // 3 promote
    const weights = previousSha === undefined ? [100] : [...o.canary, 100];
    if (previousSha === undefined && o.canary.length > 0) {
      this.say("promote", "nothing is live yet, so there is no canary: all traffic at once");
    }
    try {
      for (const weight of weights) {
        if (this.ctx.signal?.aborted) throw new Interrupted();
        const live: LiveTarget[] =
          weight === 100
            ? [{ sha, weight: 100 }]
            : [
                { sha, weight },
                { sha: previousSha!, weight: 100 - weight },
              ];
        const promoted = await this.update((s) =>
          withLive(promotionOrder(s, previousSha, sha), live),
        );
        const split =
          weight === 100
            ? `all traffic to ${short}`
            : `${weight}% to ${short}, ${100 - weight}% stays on ${shortSha(previousSha!)}`;
        this.say("promote", `${split} (release state v${promoted.version})`);
        await this.apply(promoted.state, `promote ${short} to ${weight}%`);
        await this.bake(sha, version, weight, o.bakeMs);
      }
    } catch (error) {
      return this.revert(previous, sha, error);
    }

    // 4 retire
    try {
      const retired = await this.update((s) => removeVersions(s, retirePlan(s, o.keep)));
      if (!retired.changed) {
        this.say("retire", `nothing to retire (keeping ${o.keep} previous version(s))`);
      } else {
        const shas = retirePlan(retired.before, o.keep);
        const gone = shas.map(shortSha).join(", ");
        this.say("retire", `removing ${gone} (release state v${retired.version})`);
        await this.apply(retired.state, `retire ${gone}`);
        for (const old of shas) await this.unpin(old);
      }
    } catch (error) {
      return this.outcome(
        "failed",
        `${short} is live, but retiring old versions failed: ${message(error)}; ` +
          "the next release (or `pulumi up`) retries it",
      );
    }
    return this.outcome("done", `released ${short}`);
  }

  private async verify(sha: string, version: VersionOutputs, o: ReleaseOptions): Promise<void> {
    const url = `https://${version.host}${this.ctx.healthPath}`;
    let last = "";
    for (let attempt = 1; ; attempt++) {
      const r = await this.b.httpGet(url);
      if (r.status !== undefined && r.status >= 200 && r.status < 400) {
        this.say("verify", `${url} answered ${r.status}`);
        break;
      }
      last = r.status !== undefined ? `HTTP ${r.status}` : (r.error ?? "no response");
      if (attempt >= this.t.httpAttempts) {
        throw new Error(`${url} answered ${last} (${attempt} attempts)`);
      }
      await this.pause(this.t.httpRetryMs);
    }
    if (o.checks === undefined) {
      this.say("verify", "no --checks command given; the health check is the only check");
      return;
    }
    const env: Record<string, string> = {
      CUTOVER_BASE_URL: `https://${version.host}`,
      CUTOVER_SERVICE: this.ctx.service,
      CUTOVER_TARGET: this.ctx.target,
      CUTOVER_VERSION: sha,
    };
    if (o.skipSlowChecks) env.CUTOVER_SKIP_SLOW_CHECKS = "1";
    this.say("verify", `running checks against ${env.CUTOVER_BASE_URL}: ${o.checks}`);
    const result = await this.b.runChecks(o.checks, env);
    if (!result.ok) throw new Error(`checks failed:\n${indent(result.output)}`);
    this.say("verify", "checks passed");
  }

  /**
   * Failure in stage or verify: take the candidate out again (when this release added it); live
   * traffic never moved. A version that was deployed before the release stays deployed.
   */
  private async abandon(
    sha: string,
    addedByUs: boolean,
    step: string,
    error: unknown,
  ): Promise<Outcome> {
    const short = shortSha(sha);
    if (error instanceof LockLostError) return this.lockLost(error);
    const reason = `${step} of ${short} failed: ${message(error)}`;
    this.say(step, `failed: ${message(error)}`);
    if (!addedByUs) {
      return this.outcome("rejected", `${reason}; live traffic never moved`);
    }
    try {
      // The write that added it may itself have failed: remove only what is there.
      const removed = await this.update((s) =>
        findVersion(s, sha) ? removeVersions(s, [sha]) : s,
      );
      if (removed.changed) {
        this.say("retire", `removing the candidate ${short} (release state v${removed.version})`);
        await this.apply(removed.state, `retire ${short}`);
      }
      await this.unpin(sha);
    } catch (cleanup) {
      if (cleanup instanceof LockLostError) return this.lockLost(cleanup);
      return this.outcome(
        "failed",
        `${reason}; removing the candidate failed too: ${message(cleanup)}. Live traffic never ` +
          `moved; the next release (or \`pulumi up\`) removes ${short}`,
      );
    }
    return this.outcome("rejected", `${reason}; ${short} was removed and live traffic never moved`);
  }

  /**
   * Lets the lifecycle rules expire a retired version's image again. Best effort: an image left
   * pinned only costs storage, so a failure is reported, not fatal.
   */
  private async unpin(sha: string): Promise<void> {
    try {
      await this.b.unpinImage(this.ctx.service, sha);
    } catch (error) {
      this.say(
        "retire",
        `could not unpin the image of ${shortSha(sha)} (${message(error)}); it is kept`,
      );
    }
  }

  /** Failure or alarm in promote: live traffic back to what it was before the release. */
  private async revert(
    previous: readonly LiveTarget[],
    sha: string,
    error: unknown,
  ): Promise<Outcome> {
    if (error instanceof LockLostError) return this.lockLost(error);
    const reason = `promoting ${shortSha(sha)} failed: ${message(error)}`;
    this.say("promote", `failed: ${message(error)}; moving live back to ${describeLive(previous)}`);
    try {
      const back = await this.update((s) => withLive(s, previous));
      // Unchanged: the promotion was never written, so no update carried it to the stack.
      if (back.changed) {
        this.say("rollback", `live → ${describeLive(previous)} (release state v${back.version})`);
        await this.apply(back.state, `roll back to ${describeLive(previous)}`);
      }
    } catch (second) {
      if (second instanceof LockLostError) return this.lockLost(second);
      return this.outcome(
        "failed",
        `${reason}; moving live back failed too: ${message(second)}. Run ` +
          `\`npm run release -- rollback --stack ${this.ctx.stack} --service ${this.ctx.service}\``,
      );
    }
    return this.outcome(
      "rejected",
      `${reason}; live traffic is back on ${describeLive(previous)} (${shortSha(sha)} stays ` +
        "deployed at its own host for investigation until the next release retires it)",
    );
  }

  // -- rollback ---------------------------------------------------------------------------------

  async rollback(): Promise<Outcome> {
    const { service } = this.ctx;
    const before = await this.readOrFail();
    if ("kind" in before) return before;
    const { state } = before;
    this.live = state.live;
    if (state.live.length === 0) return this.refused(`${service} has no release to roll back`);
    const target = rollbackTarget(state);
    if (target === undefined) {
      return this.refused(
        `no version of ${service} deployed before ${describeLive(state.live)} is still deployed; ` +
          "release a good version instead",
      );
    }
    const short = shortSha(target);
    let written = false;
    try {
      const outputs = await this.b.outputs();
      const tg = outputs.services[service]?.versions[target]?.targetGroupArn;
      if (tg === undefined) {
        return this.outcome(
          "failed",
          `the stack outputs do not list ${short} of ${service}; run \`pulumi up\` and retry`,
        );
      }
      const health = await this.b.targetHealth(tg);
      if (health.healthy < 1) {
        return this.outcome(
          "rejected",
          `${short} has no healthy targets (${describeHealth(health)}); live traffic left on ` +
            describeLive(state.live),
        );
      }
      this.say("rollback", `${short} has ${health.healthy} healthy target(s)`);
      const back = await this.update((s) => withLive(s, [{ sha: target, weight: 100 }]));
      written = true;
      this.say("rollback", `live → ${short} (release state v${back.version})`);
      await this.apply(back.state, `roll back to ${short}`);
    } catch (error) {
      if (error instanceof LockLostError) return this.lockLost(error);
      const next = written
        ? `; the release state already says ${short}, so \`pulumi up\` applies it (running ` +
          "rollback again would go one more version back)"
        : "";
      return this.outcome("failed", `rolling back to ${short} failed: ${message(error)}${next}`);
    }
    return this.outcome("done", `rolled back to ${short}`);
  }

  // -- building blocks --------------------------------------------------------------------------

  /** Runs `body` holding the service's release lock; refuses when someone else holds it. */
  async locked(
    action: LockInfo["action"],
    sha: string | undefined,
    ttlMs: number,
    body: () => Promise<Outcome>,
  ): Promise<Outcome> {
    const now = this.b.now();
    const info: LockInfo = {
      id: this.ctx.runId,
      owner: this.ctx.owner,
      action,
      sha,
      since: new Date(now).toISOString(),
      expires: new Date(now + ttlMs).toISOString(),
    };
    let attempt: LockAttempt;
    try {
      attempt = await this.b.lock(this.ctx.service, info);
    } catch (error) {
      return this.outcome("failed", `cannot reach the release state store: ${message(error)}`);
    }
    if (!attempt.acquired) {
      const h = attempt.heldBy;
      try {
        this.live = (await this.b.readState(this.ctx.service)).state.live;
      } catch {
        // the final line then says live is unknown
      }
      return this.refused(
        `${h.owner} is running a ${h.action}${h.sha ? ` of ${shortSha(h.sha)}` : ""} of ` +
          `${this.ctx.service} (since ${h.since}, lock expires ${h.expires}); wait for it. If it ` +
          `is no longer running: \`aws ssm delete-parameter --name ${attempt.parameter}\``,
      );
    }
    if (attempt.tookOver) {
      const h = attempt.tookOver;
      this.say(
        "lock",
        `took over the expired lock of ${h.owner} (${h.action} since ${h.since}); ` +
          "its release was interrupted",
      );
    }
    this.lock = attempt;
    try {
      return await body();
    } finally {
      try {
        await attempt.release();
      } catch (error) {
        this.log(`warning: could not release the lock of ${this.ctx.service}: ${message(error)}`);
      }
    }
  }

  private async readOrFail(): Promise<StoredState | Outcome> {
    try {
      return await this.b.readState(this.ctx.service);
    } catch (error) {
      return this.outcome("failed", `cannot read the release state: ${message(error)}`);
    }
  }

  /**
   * Read, change, write with the version read: a write that lost a race re-reads and applies the
   * change again (changes are intents such as "add X", "send live to X", which stay meaningful on
   * a newer state). Checks the lock first so a release whose lock was broken stops writing.
   */
  private async update(
    change: (state: ReleaseState) => ReleaseState,
  ): Promise<{ before: ReleaseState; state: ReleaseState; version?: number; changed: boolean }> {
    for (let attempt = 1; ; attempt++) {
      if (this.lock && !(await this.lock.stillHeld())) {
        throw new LockLostError(
          `the release lock of ${this.ctx.service} was taken over or deleted; stopping without ` +
            "further changes (whoever took it now owns the release state)",
        );
      }
      const { state, version } = await this.b.readState(this.ctx.service);
      const next = change(state);
      if (sameReleaseState(next, state)) return { before: state, state, version, changed: false };
      try {
        const written = await this.b.writeState(this.ctx.service, next, version);
        return { before: state, state: next, version: written, changed: true };
      } catch (error) {
        if (error instanceof StateConflictError && !error.written && attempt < 3) {
          this.say("store", `the release state changed since it was read; reading it again`);
          continue;
        }
        throw error;
      }
    }
  }

  /**
   * `pulumi up`, then checks the stack deployed `state` for this service. The program reads the
   * store when it starts, so a mismatch means it read before our write landed: one more up.
   */
  private async apply(state: ReleaseState, what: string): Promise<ServiceOutputs> {
    for (let attempt = 1; ; attempt++) {
      this.say("up", `pulumi up: ${what}`);
      let outputs: StackOutputs;
      try {
        outputs = await this.b.up();
      } catch (error) {
        this.liveConfirmed = false;
        this.live = state.live;
        throw new Error(`pulumi up failed: ${message(error)}`);
      }
      const svc = outputs.services[this.ctx.service];
      if (svc === undefined) {
        throw new Error(`the stack outputs have no service ${this.ctx.service}`);
      }
      this.live = svc.live;
      this.liveConfirmed = true;
      const mismatch = compare(svc, state);
      if (mismatch === undefined) {
        this.say("up", `done: live ${describeLive(svc.live)}`);
        return svc;
      }
      if (attempt >= 2) {
        throw new Error(`the stack did not deploy the release state just written: ${mismatch}`);
      }
      this.say("up", `the stack does not show the new release state yet (${mismatch}); again`);
    }
  }

  private async waitHealthy(targetGroupArn: string, min: number, timeoutMs: number) {
    const deadline = this.b.now() + timeoutMs;
    let seen = "";
    for (;;) {
      let summary: string;
      try {
        const h = await this.b.targetHealth(targetGroupArn);
        if (h.healthy >= min) {
          this.say("stage", `target group healthy: ${describeHealth(h)}`);
          return;
        }
        summary = describeHealth(h);
      } catch (error) {
        summary = `cannot read target health: ${message(error)}`;
      }
      if (summary !== seen) this.say("stage", `waiting for ${min} healthy target(s): ${summary}`);
      seen = summary;
      const left = deadline - this.b.now();
      if (left <= 0) {
        throw new Error(
          `fewer than ${min} healthy target(s) after ${formatDuration(timeoutMs)}: ${summary}`,
        );
      }
      await this.pause(Math.min(this.t.healthPollMs, left));
    }
  }

  /** Watches the new version's alarms and targets for `ms` after a promotion step. */
  private async bake(sha: string, version: VersionOutputs, weight: number, ms: number) {
    const end = this.b.now() + ms;
    const short = shortSha(sha);
    if (ms > 0)
      this.say("bake", `${short} at ${weight}%: watching its alarms for ${formatDuration(ms)}`);
    let errors = 0;
    for (;;) {
      try {
        const firing = await this.b.alarmsInAlarm(version.alarmNames);
        if (firing.length > 0) throw new Alarm(`alarm ${firing.join(", ")} fired at ${weight}%`);
        const h = await this.b.targetHealth(version.targetGroupArn);
        if (h.healthy === 0) throw new Alarm(`${short} lost all healthy targets at ${weight}%`);
        errors = 0;
      } catch (error) {
        // A failed read is not an alarm, but three in a row mean the version is not watched.
        if (error instanceof Alarm || ++errors >= 3) throw error;
      }
      const left = end - this.b.now();
      if (left <= 0) break;
      await this.pause(Math.min(this.t.bakePollMs, left));
    }
    if (ms > 0) this.say("bake", `${short} at ${weight}%: no alarm`);
  }

  /** Sleeps, unless the command is interrupted: then throws `Interrupted`. */
  private async pause(ms: number): Promise<void> {
    const signal = this.ctx.signal;
    if (signal === undefined) return this.b.sleep(ms);
    if (signal.aborted) throw new Interrupted();
    let onAbort: () => void = () => undefined;
    const aborted = new Promise<void>((resolve) => {
      onAbort = resolve;
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([this.b.sleep(ms), aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    if (signal.aborted) throw new Interrupted();
  }

  private say(step: string, text: string) {
    this.log(`[+${formatDuration(this.b.now() - this.start)}] ${step}: ${text}`);
  }

  private refused(reason: string): Outcome {
    return this.outcome("refused", `refused: ${reason}`);
  }

  private lockLost(error: LockLostError): Outcome {
    return this.outcome("failed", error.message);
  }

  private outcome(kind: OutcomeKind, text: string): Outcome {
    return { kind, message: text, live: this.live, liveConfirmed: this.liveConfirmed };
  }
}

class Alarm extends Error {}

/** Why the stack's view of a service differs from `state`, or `undefined` when it does not. */
function compare(svc: ServiceOutputs, state: ReleaseState): string | undefined {
  const want = state.versions.map((v) => v.sha).sort();
  const have = Object.keys(svc.versions).sort();
  if (want.join() !== have.join()) {
    return `versions ${have.map(shortSha).join(", ") || "none"}, expected ${want.map(shortSha).join(", ") || "none"}`;
  }
  const key = (live: readonly LiveTarget[]) =>
    live
      .map((l) => `${l.sha}=${l.weight}`)
      .sort()
      .join();
  if (key(svc.live) !== key(state.live)) {
    return `live ${describeLive(svc.live)}, expected ${describeLive(state.live)}`;
  }
  return undefined;
}

export function describeHealth(h: TargetHealth): string {
  const parts = [
    `${h.healthy} healthy`,
    h.initial > 0 ? `${h.initial} initial` : "",
    h.unhealthy > 0 ? `${h.unhealthy} unhealthy` : "",
    h.draining > 0 ? `${h.draining} draining` : "",
    h.other > 0 ? `${h.other} other` : "",
  ].filter(Boolean);
  const reasons = h.reasons.length > 0 ? ` (${[...new Set(h.reasons)].join(", ")})` : "";
  return parts.join(", ") + reasons;
}

function message(error: unknown): string {
  const text = (error as { message?: unknown } | null)?.message;
  return typeof text === "string" ? text : String(error);
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
}
