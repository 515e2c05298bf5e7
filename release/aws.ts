import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  DescribeAlarmsCommandOutput,
} from "@aws-sdk/client-cloudwatch";
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  ECRClient,
  PutImageCommand,
} from "@aws-sdk/client-ecr";
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParameterHistoryCommandOutput,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import {
  deployedImageTag,
  releaseLockParameterName,
  releaseParameterName,
  repositoryName,
} from "../components/naming";
import {
  Clock,
  Images,
  LockAttempt,
  LockInfo,
  Probes,
  StateConflictError,
  StateRevision,
  StateStore,
  StoredState,
  TargetHealth,
} from "./orchestrator";
import { EMPTY_RELEASE, parseReleaseState, ReleaseState, serializeReleaseState } from "./state";

/**
 * The release command's AWS side: release state and locks in SSM Parameter Store, target health
 * from ELB, alarm states from CloudWatch.
 *
 * Permissions the caller needs, for `/<project>/<target>/releases/*` and
 * `/<project>/<target>/release-locks/*`: ssm:GetParameter, ssm:PutParameter,
 * ssm:GetParameterHistory, ssm:DeleteParameter (locks only); plus
 * elasticloadbalancing:DescribeTargetHealth and cloudwatch:DescribeAlarms.
 *
 * WHAT THE STORE GUARANTEES, AND WHAT IT DOES NOT
 *
 * SSM has no conditional update. It has two primitives this module builds on:
 * - PutParameter with Overwrite=false creates a parameter only if it does not exist: atomic, so
 *   exactly one of several concurrent creators succeeds.
 * - Every successful PutParameter gets the parameter's next version number, assigned serially.
 *
 * `compareAndPut(name, value, expected)` is therefore "check, write, verify":
 *   1. read the parameter; if it is no longer at the expected version, refuse: nothing written;
 *   2. PutParameter Overwrite=true and get version n;
 *   3. if n is not expected+1, someone wrote between steps 1 and 2: report a conflict whose
 *      `written` flag says our value is now on top of theirs.
 * Of several writers that start from the same version, at most one sees n = expected+1: two
 * writers can never both believe they succeeded. A writer refused at step 1 re-reads and applies
 * its change again (the orchestrator does this), so it loses nothing. What step 3 cannot do is
 * undo: for the few milliseconds between steps 1 and 2 a second writer can still slip in, and
 * then the later value hides the earlier one until a person compares them in the history.
 *
 * That is why writes to one service's state also take that service's release lock: a parameter
 * created with Overwrite=false (atomic), deleted when the release ends, and taken over with
 * compareAndPut only after it expired (a release that was killed). Among release commands this
 * gives one writer per service at a time; the version check above then only catches writers that
 * ignore the lock (someone running `aws ssm put-parameter` by hand). Two takers of the same expired
 * lock cannot both proceed: the loser's write makes the winner's `stillHeld` false and both stop,
 * which is safe and needs a rerun. Different services use different parameters and never conflict.
 */

/** SSM parameter holding the release lock of one service (outside the path the program reads). */
export const lockParameterName = releaseLockParameterName;

/** Is `error` the AWS SDK exception called `name`? */
function isAwsError(error: unknown, name: string): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === name;
}

/** A parameter's value and version, or `undefined` when it does not exist. */
export async function getParameter(
  ssm: SSMClient,
  name: string,
): Promise<{ value: string; version: number } | undefined> {
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name }));
    return { value: out.Parameter?.Value ?? "", version: out.Parameter?.Version ?? 0 };
  } catch (error) {
    if (isAwsError(error, "ParameterNotFound") || isAwsError(error, "ParameterVersionNotFound")) {
      return undefined;
    }
    throw error;
  }
}

/**
 * Writes `value` if the parameter is still as read (`expected`; `undefined` = must not exist) and
 * returns the new version. Throws `StateConflictError` otherwise; see the module comment for what
 * is and is not guaranteed. `expected.value`, when known, also catches a parameter that was
 * deleted and created again up to the same version number in the meantime.
 */
export async function compareAndPut(
  ssm: SSMClient,
  name: string,
  value: string,
  expected: { version: number; value?: string } | undefined,
  description?: string,
): Promise<number> {
  if (expected === undefined) {
    try {
      const out = await ssm.send(
        new PutParameterCommand({
          Name: name,
          Value: value,
          Type: "String",
          Overwrite: false,
          Description: description,
        }),
      );
      return out.Version ?? 1;
    } catch (error) {
      if (isAwsError(error, "ParameterAlreadyExists")) {
        throw new StateConflictError(`${name} was created by someone else meanwhile`, false);
      }
      throw error;
    }
  }
  const current = await getParameter(ssm, name);
  if (
    current === undefined ||
    current.version !== expected.version ||
    (expected.value !== undefined && current.value !== expected.value)
  ) {
    throw new StateConflictError(
      `${name} is at version ${current?.version ?? "(deleted)"}, not at version ${expected.version} as read`,
      false,
    );
  }
  const out = await ssm.send(
    new PutParameterCommand({
      Name: name,
      Value: value,
      Type: "String",
      Overwrite: true,
      Description: description,
    }),
  );
  const written = out.Version ?? 0;
  const history = `compare with \`aws ssm get-parameter-history --name ${name}\``;
  if (written !== expected.version + 1) {
    throw new StateConflictError(
      `${name} was written by someone else at the same moment: ours became version ${written}, ` +
        `so version(s) ${expected.version + 1}-${written - 1} are theirs and ours hides them; ${history}`,
      true,
    );
  }
  if (expected.value !== undefined) {
    const prior = await getParameter(ssm, `${name}:${expected.version}`);
    if (prior?.value !== expected.value) {
      throw new StateConflictError(
        `${name} was deleted and created again while it was being written; ${history}`,
        true,
      );
    }
  }
  return written;
}

export interface SsmStateStoreOptions {
  readonly ssm: SSMClient;
  readonly project: string;
  readonly target: string;
  readonly clock: Clock;
}

/** Release state and release locks of one target in SSM Parameter Store. */
export class SsmStateStore implements StateStore {
  /** Text of each version read, so a write can check it replaces exactly what was read. */
  private readonly seen = new Map<string, string>();

  constructor(private readonly options: SsmStateStoreOptions) {}

  parameter(service: string): string {
    return releaseParameterName(this.options.project, this.options.target, service);
  }

  lockParameter(service: string): string {
    return lockParameterName(this.options.project, this.options.target, service);
  }

  async readState(service: string): Promise<StoredState> {
    const name = this.parameter(service);
    const found = await getParameter(this.options.ssm, name);
    if (found === undefined) return { state: EMPTY_RELEASE };
    this.seen.set(`${name}:${found.version}`, found.value);
    return { state: parseStoredState(name, found.value), version: found.version };
  }

  async writeState(
    service: string,
    state: ReleaseState,
    expectedVersion: number | undefined,
  ): Promise<number> {
    const name = this.parameter(service);
    const expected =
      expectedVersion === undefined
        ? undefined
        : { version: expectedVersion, value: this.seen.get(`${name}:${expectedVersion}`) };
    const value = JSON.stringify(serializeReleaseState(state));
    const version = await compareAndPut(
      this.options.ssm,
      name,
      value,
      expected,
      `Release state of ${service}, written by the cutover release command`,
    );
    this.seen.set(`${name}:${version}`, value);
    return version;
  }

  async history(service: string, limit: number): Promise<StateRevision[]> {
    const name = this.parameter(service);
    const revisions: StateRevision[] = [];
    let token: string | undefined;
    try {
      do {
        const out: GetParameterHistoryCommandOutput = await this.options.ssm.send(
          new GetParameterHistoryCommand({ Name: name, MaxResults: 50, NextToken: token }),
        );
        for (const p of out.Parameters ?? []) {
          revisions.push({
            version: p.Version ?? 0,
            modified: p.LastModifiedDate,
            modifiedBy: p.LastModifiedUser,
            text: p.Value ?? "",
          });
        }
        token = out.NextToken;
      } while (token);
    } catch (error) {
      if (isAwsError(error, "ParameterNotFound")) return [];
      throw error;
    }
    return revisions.sort((a, b) => b.version - a.version).slice(0, limit);
  }

  async lock(service: string, info: LockInfo): Promise<LockAttempt> {
    const { ssm } = this.options;
    const name = this.lockParameter(service);
    const value = JSON.stringify(info);
    const description = `Release lock of ${service}; delete it only if its release is no longer running`;
    // Two rounds: the lock may be released between our failed create and our read.
    for (let round = 0; round < 2; round++) {
      try {
        await compareAndPut(ssm, name, value, undefined, description);
        return this.held(name, info);
      } catch (error) {
        if (!(error instanceof StateConflictError)) throw error;
      }
      const current = await getParameter(ssm, name);
      if (current === undefined) continue;
      const holder = parseLock(current.value);
      if (Date.parse(holder.expires) > this.options.clock.now()) {
        return { acquired: false, heldBy: holder, parameter: name };
      }
      try {
        await compareAndPut(ssm, name, value, current, description);
        return this.held(name, info, holder);
      } catch (error) {
        if (!(error instanceof StateConflictError)) throw error;
        const now = await getParameter(ssm, name);
        return { acquired: false, heldBy: now ? parseLock(now.value) : holder, parameter: name };
      }
    }
    const holder = await this.lockHolder(service);
    return {
      acquired: false,
      heldBy: holder ?? { ...info, owner: "another release" },
      parameter: name,
    };
  }

  async lockHolder(service: string): Promise<LockInfo | undefined> {
    const found = await getParameter(this.options.ssm, this.lockParameter(service));
    return found && parseLock(found.value);
  }

  private held(name: string, info: LockInfo, tookOver?: LockInfo): LockAttempt {
    const { ssm } = this.options;
    const ours = async () => {
      const found = await getParameter(ssm, name);
      return found !== undefined && parseLock(found.value).id === info.id;
    };
    return {
      acquired: true,
      tookOver,
      stillHeld: ours,
      release: async () => {
        // Only our own lock: it may have been taken over if this release outlived its expiry.
        if (await ours()) await ssm.send(new DeleteParameterCommand({ Name: name }));
      },
    };
  }
}

/** Parses a stored release state; problems name the parameter and how to recover. */
export function parseStoredState(name: string, text: string): ReleaseState {
  const restore = `restore a good version: \`aws ssm get-parameter-history --name ${name}\`, then \`aws ssm put-parameter --overwrite\``;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`SSM parameter ${name} is not JSON; ${restore}`);
  }
  const { state, errors } = parseReleaseState(raw, `SSM parameter ${name}`);
  if (!state) throw new Error(`${errors.join("; ")}; ${restore}`);
  return state;
}

/** A lock document; an unreadable one counts as expired so it can be taken over. */
function parseLock(text: string): LockInfo {
  try {
    const raw = JSON.parse(text) as Partial<LockInfo>;
    if (typeof raw.id === "string" && typeof raw.expires === "string") {
      return {
        id: raw.id,
        owner: String(raw.owner ?? "unknown"),
        action: raw.action === "rollback" ? "rollback" : "release",
        sha: typeof raw.sha === "string" ? raw.sha : undefined,
        since: String(raw.since ?? "unknown"),
        expires: raw.expires,
      };
    }
  } catch {
    // fall through
  }
  const epoch = new Date(0).toISOString();
  return { id: "", owner: "unknown", action: "release", since: epoch, expires: epoch };
}

/** Target health from ELB and alarm states from CloudWatch. */
export class AwsProbes implements Pick<Probes, "targetHealth" | "alarmsInAlarm"> {
  constructor(
    private readonly elb: ElasticLoadBalancingV2Client,
    private readonly cloudwatch: CloudWatchClient,
  ) {}

  async targetHealth(targetGroupArn: string): Promise<TargetHealth> {
    const out = await this.elb.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }),
    );
    const counts = { healthy: 0, unhealthy: 0, initial: 0, draining: 0, other: 0 };
    const reasons: string[] = [];
    for (const d of out.TargetHealthDescriptions ?? []) {
      const state = d.TargetHealth?.State ?? "unavailable";
      if (state === "healthy") counts.healthy++;
      else if (state === "unhealthy") counts.unhealthy++;
      else if (state === "initial") counts.initial++;
      else if (state === "draining" || state === "unhealthy.draining") counts.draining++;
      else counts.other++;
      if (state !== "healthy" && d.TargetHealth?.Reason) reasons.push(d.TargetHealth.Reason);
    }
    return { ...counts, reasons };
  }

  async alarmsInAlarm(names: readonly string[]): Promise<string[]> {
    const firing: string[] = [];
    // DescribeAlarms takes at most 100 names per call.
    for (let i = 0; i < names.length; i += 100) {
      let token: string | undefined;
      do {
        const out: DescribeAlarmsCommandOutput = await this.cloudwatch.send(
          new DescribeAlarmsCommand({
            AlarmNames: names.slice(i, i + 100),
            StateValue: "ALARM",
            AlarmTypes: ["MetricAlarm", "CompositeAlarm"],
            NextToken: token,
          }),
        );
        for (const a of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
          if (a.AlarmName) firing.push(a.AlarmName);
        }
        token = out.NextToken;
      } while (token);
    }
    return firing;
  }
}

/**
 * Pins and unpins images in the service's ECR repository. Pinning adds the tag
 * `deployed-<sha>` to the image tagged `<sha>` (PutImage with the same manifest: tags are
 * immutable, but a new tag may be added); unpinning deletes only that tag, the image keeps its
 * SHA tag.
 */
export class EcrImages implements Images {
  constructor(
    private readonly ecr: ECRClient,
    private readonly project: string,
    private readonly target: string,
  ) {}

  async pinImage(service: string, sha: string): Promise<"pinned" | "missing"> {
    const repositoryName = this.repository(service);
    const found = await this.ecr.send(
      new BatchGetImageCommand({ repositoryName, imageIds: [{ imageTag: sha }] }),
    );
    const image = found.images?.[0];
    if (!image?.imageManifest) return "missing";
    try {
      await this.ecr.send(
        new PutImageCommand({
          repositoryName,
          imageManifest: image.imageManifest,
          imageManifestMediaType: image.imageManifestMediaType,
          imageTag: deployedImageTag(sha),
        }),
      );
    } catch (error) {
      // Pinned by an earlier release of the same SHA: nothing to do.
      if (!isAwsError(error, "ImageAlreadyExistsException")) throw error;
    }
    return "pinned";
  }

  async unpinImage(service: string, sha: string): Promise<void> {
    await this.ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: this.repository(service),
        imageIds: [{ imageTag: deployedImageTag(sha) }],
      }),
    );
  }

  private repository(service: string): string {
    return repositoryName(this.project, this.target, service);
  }
}
