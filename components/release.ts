import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { parseReleaseState, ReleaseState } from "../release/state";

export interface LiveRuleArgs {
  readonly listenerArn: pulumi.Input<string>;
  /** The service's live host, e.g. `api.stage.example.com`. */
  readonly host: string;
  /** Priority of the live rule: the service block's base, fixed for the life of the service. */
  readonly priority: number;
  /**
   * Target groups taking live traffic with their weights (one, or two during a canary).
   * Empty before the first release: the host then answers 503.
   */
  readonly targets: readonly {
    readonly targetGroupArn: pulumi.Input<string>;
    readonly weight: number;
  }[];
}

/** Body of the live host before any version was promoted. */
export const NO_RELEASE_BODY = "no release yet";

/**
 * The live rule of one service: `<service>.<domain>` forwards to the live version's target group,
 * or across two with weights during a canary. Promotion changes only this rule's action, one ELB
 * call (ModifyRule) that is atomic for every client; DNS is never involved.
 */
export class LiveRule extends pulumi.ComponentResource {
  public readonly rule: aws.lb.ListenerRule;

  constructor(name: string, args: LiveRuleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cutover:service:LiveRule", name, {}, opts);
    const action: aws.types.input.lb.ListenerRuleAction =
      args.targets.length === 0
        ? {
            type: "fixed-response",
            fixedResponse: {
              contentType: "text/plain",
              statusCode: "503",
              messageBody: NO_RELEASE_BODY,
            },
          }
        : {
            type: "forward",
            forward: {
              targetGroups: args.targets.map((t) => ({ arn: t.targetGroupArn, weight: t.weight })),
              // During a canary, keep a client on one version.
              ...(args.targets.length > 1 ? { stickiness: { enabled: true, duration: 300 } } : {}),
            },
          };
    this.rule = new aws.lb.ListenerRule(
      `${name}-rule`,
      {
        listenerArn: args.listenerArn,
        priority: args.priority,
        conditions: [{ hostHeader: { values: [args.host] } }],
        actions: [action],
      },
      { parent: this },
    );
    this.registerOutputs({ rule: this.rule });
  }
}

export interface ReleaseStoreArgs {
  /** SSM path holding one parameter per service, e.g. `/cutover/prod/releases/`. */
  readonly path: string;
  readonly services: readonly string[];
}

/**
 * Reads the release state of every service from SSM Parameter Store (one String parameter per
 * service, written by the release command; SSM keeps each parameter's version history). A
 * service without a parameter has no release yet. Problems name the parameter and the fix.
 */
export async function readReleaseStore(
  args: ReleaseStoreArgs,
  opts: pulumi.InvokeOptions,
): Promise<{ states: Record<string, ReleaseState>; errors: string[] }> {
  const found = await aws.ssm.getParametersByPath({ path: args.path, recursive: false }, opts);
  const states: Record<string, ReleaseState> = {};
  const errors: string[] = [];
  found.names.forEach((parameter, i) => {
    const service = parameter.slice(parameter.lastIndexOf("/") + 1);
    if (!args.services.includes(service)) {
      pulumi.log.warn(
        `release state ${parameter} belongs to no service in \`services\`; it is ignored`,
      );
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(found.values[i]);
    } catch {
      errors.push(
        `SSM parameter ${parameter} is not JSON; restore a previous version (\`aws ssm get-parameter-history\`)`,
      );
      return;
    }
    const parsed = parseReleaseState(raw, `SSM parameter ${parameter}`);
    errors.push(...parsed.errors);
    if (parsed.state) states[service] = parsed.state;
  });
  return { states, errors };
}
