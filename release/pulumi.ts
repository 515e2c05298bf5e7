import { ConcurrentUpdateError, LocalWorkspace, OutputMap, Stack } from "@pulumi/pulumi/automation";
import { z } from "zod";
import { Clock, StackOutputs, StackRunner } from "./orchestrator";

/**
 * The target's Pulumi stack through the Automation API (it drives the `pulumi` CLI, which must be
 * installed and logged in to the stack's backend).
 *
 * Two services of one target may be released at the same time, and Pulumi runs one update per
 * stack at a time: the second `up` fails with ConcurrentUpdateError. It is retried with backoff.
 * Nothing is lost by waiting: the program reads every service's release state from SSM when it
 * starts, so the retried update deploys both releases.
 */

export interface RetryOptions {
  /** Give up after waiting this long in total. */
  readonly maxWaitMs: number;
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = {
  // An update of another service that creates ECS services and target groups can take a while.
  maxWaitMs: 30 * 60_000,
  firstDelayMs: 5_000,
  maxDelayMs: 60_000,
};

export function isConcurrentUpdate(error: unknown): boolean {
  return (
    error instanceof ConcurrentUpdateError ||
    (error as { name?: unknown } | null)?.name === "ConcurrentUpdateError"
  );
}

/**
 * Runs `attempt` until it does not fail with a concurrent-update error, doubling the wait each
 * time (capped), for at most `maxWaitMs` in total. Any other error is thrown at once.
 */
export async function retryOnConcurrentUpdate<T>(
  attempt: () => Promise<T>,
  clock: Clock,
  onWait: (delayMs: number, waitedMs: number) => void,
  options: RetryOptions = DEFAULT_RETRY,
): Promise<T> {
  const start = clock.now();
  let delay = options.firstDelayMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      const waited = clock.now() - start;
      if (!isConcurrentUpdate(error) || waited + delay > options.maxWaitMs) throw error;
      onWait(delay, waited);
      await clock.sleep(delay);
      delay = Math.min(delay * 2, options.maxDelayMs);
    }
  }
}

const liveSchema = z.array(z.object({ sha: z.string(), weight: z.number() }));
const stackOutputsSchema = z.object({
  services: z.record(
    z.string(),
    z.object({
      liveHost: z.string(),
      live: liveSchema,
      versions: z.record(
        z.string(),
        z.object({
          host: z.string(),
          targetGroupArn: z.string(),
          alarmNames: z.array(z.string()),
          ecsService: z.string(),
        }),
      ),
    }),
  ),
  releaseParameterPath: z.string().optional(),
  region: z.string().optional(),
  domain: z.string().optional(),
});

/** Plain stack outputs from the Automation API's `OutputMap`, checked against index.ts's shape. */
export function toStackOutputs(map: OutputMap): StackOutputs {
  const plain = Object.fromEntries(Object.entries(map).map(([k, v]) => [k, v.value]));
  const parsed = stackOutputsSchema.safeParse(plain);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `the stack outputs do not have the shape the release command expects ` +
        `(${issue.path.join(".")}: ${issue.message}); is the stack up to date with this program?`,
    );
  }
  return parsed.data;
}

export interface PulumiStackOptions {
  readonly stackName: string;
  /** Directory holding Pulumi.yaml. */
  readonly workDir: string;
  readonly clock: Clock;
  /** Receives the engine's output as it is printed. */
  readonly onOutput: (text: string) => void;
  /** Progress lines (waiting for another update...). */
  readonly log: (line: string) => void;
  readonly retry?: RetryOptions;
}

export class PulumiStack implements StackRunner {
  private stack?: Promise<Stack>;

  constructor(private readonly options: PulumiStackOptions) {}

  async up(): Promise<StackOutputs> {
    const stack = await this.select();
    const result = await retryOnConcurrentUpdate(
      () => stack.up({ onOutput: this.options.onOutput, color: "never" }),
      this.options.clock,
      (delay, waited) =>
        this.options.log(
          `another update of stack ${this.options.stackName} is running ` +
            `(waited ${Math.round(waited / 1000)}s); retrying in ${Math.round(delay / 1000)}s`,
        ),
      this.options.retry,
    );
    return toStackOutputs(result.outputs);
  }

  async outputs(): Promise<StackOutputs> {
    return toStackOutputs(await (await this.select()).outputs());
  }

  private select(): Promise<Stack> {
    this.stack ??= LocalWorkspace.selectStack({
      stackName: this.options.stackName,
      workDir: this.options.workDir,
    });
    return this.stack;
  }
}
