import { randomUUID } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { ECRClient } from "@aws-sdk/client-ecr";
import { SSMClient } from "@aws-sdk/client-ssm";
import { parse } from "yaml";
import { liveHost, releaseParameterName, shortSha, versionHost } from "../components/naming";
import { ConfigError, parseConfig, RawConfig, ServiceConfig } from "../config";
import { PROJECT_DIR, readStackConfig } from "../engine/run";
import { AwsProbes, EcrImages, lockParameterName, SsmStateStore } from "./aws";
import { httpGet, runCommand } from "./checks";
import {
  exitCode,
  liveLine,
  Outcome,
  release,
  ReleaseBackend,
  ReleaseOptions,
  rollback,
  ServiceContext,
  Timings,
} from "./orchestrator";
import { PulumiStack } from "./pulumi";
import {
  describeLive,
  MAX_VERSIONS_PER_SERVICE,
  parseReleaseState,
  ReleaseState,
  rollbackTarget,
} from "./state";

/** `npm run release -- ...`: argument parsing, the stack file, and the real backend. */

export const USAGE = `Release a version of a service, roll it back, or show release state.

  npm run release -- [release] --stack <stack> --service <svc> --version <sha> [options]
  npm run release -- rollback  --stack <stack> --service <svc>
  npm run release -- status    --stack <stack> [--service <svc>]

release: stage the version (its own host <svc>-<sha7>.<domain>), wait until its targets are
healthy, verify it, move live traffic (<svc>.<domain>) to it, retire old versions.

  --stack <name>          stack (= deployment target) whose Pulumi.<stack>.yaml to use;
                          --target is the same option
  --service <svc>         a service under \`cutover:services\`
  --version <sha>         commit SHA, 7-40 hex characters, as the image is tagged
  --canary <w1,w2,...>    live traffic to the new version in steps before 100%, e.g. 10,50
  --bake <seconds>        watch the new version's alarms after each step
                          (default: 300 with --canary, else 0)
  --keep <n>              previous versions to keep deployed for rollback (default 1)
  --checks "<command>"    shell command run against the new version; it gets
                          CUTOVER_BASE_URL=https://<svc>-<sha7>.<domain>, CUTOVER_SERVICE,
                          CUTOVER_TARGET, CUTOVER_VERSION; exit 0 = pass
  --skip-slow-checks      also give the command CUTOVER_SKIP_SLOW_CHECKS=1
  --health-timeout <s>    how long the new version may take to become healthy (default 600)
  -h, --help              this text

rollback: live traffic back to the version deployed before the live one, in one step.
status: release state per service (versions, live split, lock, SSM history).

Exit codes:
  0  done: the version is live (release), live is back on the previous version (rollback)
  1  infrastructure error not recovered (pulumi up failed and could not be undone, state store
     unreachable); the last line says what is live as far as known
  2  refused before anything changed: bad arguments, unknown service, SHA not 7-40 hex,
     \`cutover:releases\` pinned in the stack file, version already live, another release
     of the service running
  3  verification failed or the release was rolled back: live traffic is unchanged, or back
     on the version that had it before
`;

export const EXIT_USAGE = 2;

/** A refused command line; the message names the option and the fix. */
export class UsageError extends Error {}

export type Command =
  | { readonly kind: "help" }
  | ({
      readonly kind: "release";
      readonly stack: string;
      readonly service: string;
    } & ReleaseOptions)
  | { readonly kind: "rollback"; readonly stack: string; readonly service: string }
  | { readonly kind: "status"; readonly stack: string; readonly service?: string };

const SHA = /^[0-9a-f]{7,40}$/i;
const STACK = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
const RELEASE_ONLY = [
  "version",
  "canary",
  "bake",
  "keep",
  "checks",
  "skip-slow-checks",
  "health-timeout",
] as const;
const DEFAULT_CANARY_BAKE_S = 300;
const DEFAULT_HEALTH_TIMEOUT_S = 600;

/** Parses and checks the command line; throws `UsageError`. Touches nothing outside `argv`. */
export function parseCommand(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        stack: { type: "string" },
        target: { type: "string" },
        service: { type: "string" },
        version: { type: "string" },
        canary: { type: "string" },
        bake: { type: "string" },
        keep: { type: "string" },
        checks: { type: "string" },
        "skip-slow-checks": { type: "boolean" },
        "health-timeout": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return { kind: "help" };
  if (positionals.length > 1) {
    throw new UsageError(`unexpected argument(s) ${positionals.slice(1).join(" ")}`);
  }
  const kind = positionals[0] ?? "release";
  if (kind !== "release" && kind !== "rollback" && kind !== "status") {
    throw new UsageError(`unknown command ${kind}; use release, rollback or status`);
  }

  if (v.stack !== undefined && v.target !== undefined && v.stack !== v.target) {
    throw new UsageError(`--stack ${v.stack} and --target ${v.target} disagree; give one of them`);
  }
  const stack = v.stack ?? v.target;
  if (stack === undefined) throw new UsageError("--stack is required, e.g. --stack dev");
  if (!STACK.test(stack))
    throw new UsageError(`--stack ${JSON.stringify(stack)} is not a stack name`);

  if (kind !== "release") {
    const stray = RELEASE_ONLY.filter((name) => v[name] !== undefined);
    if (stray.length > 0) {
      throw new UsageError(`${stray.map((s) => `--${s}`).join(", ")} only apply to release`);
    }
  }
  if (kind === "status") return { kind, stack, service: v.service };
  if (v.service === undefined) throw new UsageError("--service is required, e.g. --service api");
  if (kind === "rollback") return { kind, stack, service: v.service };

  if (v.version === undefined) {
    throw new UsageError("--version is required: the commit SHA the image is tagged with");
  }
  if (!SHA.test(v.version)) {
    throw new UsageError(
      `--version ${JSON.stringify(v.version)} is not a commit SHA; give 7-40 hex characters, e.g. 3f9c2ab`,
    );
  }
  const canary = parseCanary(v.canary);
  const bakeS =
    v.bake === undefined
      ? canary.length > 0
        ? DEFAULT_CANARY_BAKE_S
        : 0
      : wholeNumber("--bake", v.bake, 0, 24 * 3600);
  return {
    kind,
    stack,
    service: v.service,
    sha: v.version.toLowerCase(),
    canary,
    bakeMs: bakeS * 1000,
    keep: v.keep === undefined ? 1 : wholeNumber("--keep", v.keep, 0, MAX_VERSIONS_PER_SERVICE - 2),
    checks: v.checks,
    skipSlowChecks: v["skip-slow-checks"] ?? false,
    healthTimeoutMs:
      wholeNumber(
        "--health-timeout",
        v["health-timeout"] ?? `${DEFAULT_HEALTH_TIMEOUT_S}`,
        1,
        6 * 3600,
      ) * 1000,
  };
}

function parseCanary(text: string | undefined): number[] {
  if (text === undefined) return [];
  const fix = "give increasing percentages from 1 to 99, e.g. --canary 10,50";
  if (!/^\d+(,\d+)*$/.test(text.replace(/\s+/g, ""))) {
    throw new UsageError(`--canary ${JSON.stringify(text)} is not a list of numbers; ${fix}`);
  }
  const steps = text.replace(/\s+/g, "").split(",").map(Number);
  steps.forEach((w, i) => {
    if (w < 1 || w > 99 || (i > 0 && w <= steps[i - 1])) {
      throw new UsageError(`--canary ${text} has step ${w}; ${fix}`);
    }
  });
  return steps;
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      `${flag} ${JSON.stringify(text)} must be a whole number from ${min} to ${max}`,
    );
  }
  return n;
}

/** What the release command needs from the stack file. */
export interface TargetInfo {
  readonly stack: string;
  readonly stackFile: string;
  readonly project: string;
  readonly target: string;
  readonly region: string;
  readonly domain: string;
  readonly services: readonly ServiceConfig[];
  /** `cutover:releases` from the stack file; SSM is not read by the stack when set. */
  readonly pinned?: Readonly<Record<string, ReleaseState>>;
  readonly workDir: string;
}

/**
 * Reads `Pulumi.<stack>.yaml` the way the program does (engine/run.ts flattens it, config.ts
 * validates it), so the release command and `pulumi up` agree on services and domain.
 */
export function loadTarget(stack: string, dir: string): TargetInfo {
  // `org/project/dev` is the stack `dev`, whose settings live in Pulumi.dev.yaml.
  const short = stack.slice(stack.lastIndexOf("/") + 1);
  const stackFile = `Pulumi.${short}.yaml`;
  if (!fs.existsSync(path.join(dir, stackFile))) {
    const known = fs
      .readdirSync(dir)
      .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
      .filter((s): s is string => !!s);
    throw new UsageError(
      `there is no ${stackFile} in ${dir}; known stacks: ${known.join(", ") || "none"}`,
    );
  }
  const project = (
    parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as { name: string }
  ).name;
  const flat = readStackConfig(short, dir);
  const raw: RawConfig = {};
  for (const [key, value] of Object.entries(flat.values)) {
    if (key.startsWith("cutover:")) raw[key.slice("cutover:".length)] = jsonOrText(value);
  }
  const cfg = parseConfig(raw, {
    project,
    stack: short,
    region: flat.values["aws:region"],
    secretsEncrypted:
      raw.secrets === undefined ? undefined : flat.secretKeys.includes("cutover:secrets"),
  });
  return {
    stack,
    stackFile,
    project,
    target: cfg.target,
    region: cfg.region,
    domain: cfg.domain,
    services: cfg.services,
    pinned: cfg.releases,
    workDir: dir,
  };
}

/** Runtime config values are strings; objects, numbers and booleans are their JSON (as config.ts reads them). */
function jsonOrText(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

export interface CliDeps {
  readonly projectDir: string;
  /** Progress lines and the final line. */
  readonly out: (line: string) => void;
  /** Errors and the output of `pulumi up` and the check command. */
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly createBackend: (target: TargetInfo, deps: CliDeps) => ReleaseBackend;
  readonly timings?: Partial<Timings>;
  /** Calls `stop` on SIGINT/SIGTERM; returns a function that stops listening. */
  readonly onInterrupt: (stop: (signal: string) => void) => () => void;
}

/**
 * First SIGINT/SIGTERM: stop waiting and undo (retire the candidate or move live back), then
 * release the lock. A second one exits at once, leaving the lock to expire.
 */
function processSignals(stop: (signal: string) => void): () => void {
  let count = 0;
  const handler = (signal: NodeJS.Signals) => {
    if (++count > 1) process.exit(130);
    stop(signal);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

/** Runs one command line and returns the exit code. */
export async function main(argv: readonly string[], given: Partial<CliDeps> = {}): Promise<number> {
  const deps: CliDeps = {
    projectDir: PROJECT_DIR,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
    env: process.env,
    createBackend: awsBackend,
    onInterrupt: processSignals,
    ...given,
  };
  const refuse = (text: string) => {
    deps.err(`error: ${text}`);
    return EXIT_USAGE;
  };

  let command: Command;
  let target: TargetInfo;
  try {
    command = parseCommand(argv);
    if (command.kind === "help") {
      deps.out(USAGE);
      return 0;
    }
    target = loadTarget(command.stack, deps.projectDir);
  } catch (error) {
    if (error instanceof UsageError) return refuse(`${error.message}\nRun with --help for usage.`);
    // An invalid or unreadable stack file is bad input too: nothing was touched yet.
    if (error instanceof ConfigError) return refuse(error.message);
    return refuse(`cannot read the stack file: ${(error as Error).message}`);
  }

  const names = target.services.map((s) => s.name);
  const service = command.service && target.services.find((s) => s.name === command.service);
  if (command.service !== undefined && !service) {
    return refuse(
      `${target.stackFile} has no service ${JSON.stringify(command.service)}; its services: ${names.join(", ")}`,
    );
  }
  if (command.kind !== "status" && target.pinned !== undefined) {
    return refuse(
      `${target.stackFile} pins \`cutover:releases\`, so the stack ignores the release state in SSM and ` +
        `a ${command.kind} here would change nothing. Either edit \`cutover:releases\` and run ` +
        "`pulumi up`, or remove it from the stack file to release with this command",
    );
  }

  const backend = deps.createBackend(target, deps);
  if (command.kind === "status") {
    return status(backend, target, command.service ? [command.service] : names, deps.out);
  }
  const svc = service as ServiceConfig;
  const interrupt = new AbortController();
  const stopListening = deps.onInterrupt((signal) => {
    deps.err(
      `${signal}: stopping; undoing this ${command.kind} first (a second ${signal} exits at once ` +
        "and leaves the release lock until it expires)",
    );
    interrupt.abort();
  });
  const ctx: ServiceContext = {
    stack: target.stack,
    target: target.target,
    domain: target.domain,
    service: svc.name,
    healthPath: svc.healthCheckPath,
    minHealthy: Math.max(1, svc.desiredCount),
    owner: ownerOf(deps.env),
    runId: randomUUID(),
    signal: interrupt.signal,
  };
  deps.out(
    command.kind === "release"
      ? `release ${shortSha(command.sha)} of ${svc.name} to ${target.stack} (${describePlan(command)})`
      : `rollback of ${svc.name} in ${target.stack}`,
  );
  let outcome: Outcome;
  try {
    outcome =
      command.kind === "release"
        ? await release(backend, ctx, command, deps.out, deps.timings)
        : await rollback(backend, ctx, deps.out, deps.timings);
  } finally {
    stopListening();
  }
  if (outcome.kind === "done") deps.out(outcome.message);
  else deps.err(`error: ${outcome.message}`);
  deps.out(liveLine(svc.name, target.domain, outcome));
  return exitCode(outcome);
}

function describePlan(o: ReleaseOptions): string {
  const steps = [...o.canary.map((w) => `${w}%`), "100%"].join(" → ");
  const bake = o.bakeMs > 0 ? `, bake ${o.bakeMs / 1000}s per step` : "";
  return `${steps}${bake}, keep ${o.keep}`;
}

/** Who is releasing, for the lock: the CI run, or user@host. */
function ownerOf(env: Readonly<Record<string, string | undefined>>): string {
  if (env.GITHUB_ACTIONS === "true") {
    return `github ${env.GITHUB_REPOSITORY ?? "?"} run ${env.GITHUB_RUN_ID ?? "?"} (${env.GITHUB_ACTOR ?? "?"})`;
  }
  return `${env.USER ?? env.USERNAME ?? "someone"}@${os.hostname()}`;
}

/** Prints each service's release state, lock and recent history. */
export async function status(
  backend: ReleaseBackend,
  target: TargetInfo,
  services: readonly string[],
  out: (line: string) => void,
): Promise<number> {
  for (const service of services) {
    const where = releaseParameterName(target.project, target.target, service);
    const pinned =
      target.pinned?.[service] ?? (target.pinned ? { versions: [], live: [] } : undefined);
    if (pinned) {
      out(`${service}: pinned in ${target.stackFile} (\`cutover:releases\`); SSM is not read`);
      printState(pinned, service, target.domain, out);
      continue;
    }
    try {
      const { state, version } = await backend.readState(service);
      out(`${service}: ${where}${version === undefined ? " (no release yet)" : ` v${version}`}`);
      printState(state, service, target.domain, out);
      const holder = await backend.lockHolder(service);
      out(
        holder
          ? `  lock: ${holder.owner}, ${holder.action}${holder.sha ? ` of ${shortSha(holder.sha)}` : ""} since ${holder.since} (expires ${holder.expires}; ${lockParameterName(target.project, target.target, service)})`
          : "  lock: free",
      );
      const history = await backend.history(service, 10);
      if (history.length > 0) {
        out("  history (newest first; `aws ssm get-parameter-history --name " + where + "`):");
        for (const h of history) {
          const when = h.modified ? h.modified.toISOString() : "?";
          out(
            `    v${h.version}  ${when}  ${describeRevision(h.text)}  ${h.modifiedBy ?? ""}`.trimEnd(),
          );
        }
      }
    } catch (error) {
      out(`${service}: cannot read ${where}: ${(error as Error).message}`);
      return 1;
    }
  }
  return 0;
}

function printState(
  state: ReleaseState,
  service: string,
  domain: string,
  out: (l: string) => void,
) {
  out(`  live: ${describeLive(state.live)} at https://${liveHost(service, domain)}`);
  const back = rollbackTarget(state);
  for (const v of state.versions) {
    const weight = state.live.find((l) => l.sha === v.sha)?.weight;
    const notes = [
      weight !== undefined ? `live ${weight}%` : "",
      v.sha === back ? "rollback target" : "",
    ].filter(Boolean);
    out(
      `  ${v.short}  slot ${String(v.slot).padStart(2)}  https://${versionHost(service, v.sha, domain)}` +
        (notes.length ? `  (${notes.join(", ")})` : ""),
    );
  }
}

function describeRevision(text: string): string {
  try {
    const { state } = parseReleaseState(JSON.parse(text), "revision");
    if (state) {
      return `live ${describeLive(state.live)}; deployed ${state.versions.map((v) => v.short).join(", ") || "none"}`;
    }
  } catch {
    // shown as unreadable below
  }
  return "(unreadable)";
}

/** Time after which a check command is stopped and counts as failed. */
const CHECKS_TIMEOUT_MS = 30 * 60_000;

/** The real backend: SSM, ELB, CloudWatch, the Pulumi stack, the local shell and clock. */
export function awsBackend(target: TargetInfo, deps: CliDeps): ReleaseBackend {
  const clock = {
    now: () => Date.now(),
    sleep: (ms: number) => new Promise<void>((done) => setTimeout(done, ms)),
  };
  const region = target.region;
  const store = new SsmStateStore({
    ssm: new SSMClient({ region }),
    project: target.project,
    target: target.target,
    clock,
  });
  const probes = new AwsProbes(
    new ElasticLoadBalancingV2Client({ region }),
    new CloudWatchClient({ region }),
  );
  const images = new EcrImages(new ECRClient({ region }), target.project, target.target);
  const stack = new PulumiStack({
    stackName: target.stack,
    workDir: target.workDir,
    clock,
    onOutput: deps.err,
    log: deps.out,
  });
  return {
    readState: (s) => store.readState(s),
    writeState: (s, state, expected) => store.writeState(s, state, expected),
    history: (s, limit) => store.history(s, limit),
    lock: (s, info) => store.lock(s, info),
    lockHolder: (s) => store.lockHolder(s),
    up: () => stack.up(),
    outputs: () => stack.outputs(),
    targetHealth: (arn) => probes.targetHealth(arn),
    alarmsInAlarm: (names) => probes.alarmsInAlarm(names),
    pinImage: (s, sha) => images.pinImage(s, sha),
    unpinImage: (s, sha) => images.unpinImage(s, sha),
    httpGet: (url) => httpGet(url),
    runChecks: (command, env) =>
      runCommand(command, env, { timeoutMs: CHECKS_TIMEOUT_MS, onOutput: deps.err }),
    now: clock.now,
    sleep: clock.sleep,
  };
}
