import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ReleaseState } from "../release/state";
import { ecsTasksTrustPolicy } from "./ecs-cluster";
import { liveHost, roleName } from "./naming";
import { LiveRule } from "./release";
import { livePriority, versionPriority } from "./routing";
import { ServiceShape, Workload, WorkloadArgs } from "./workload";

export interface ServiceArgs extends Omit<
  WorkloadArgs,
  "service" | "sha" | "priority" | "taskRoleArn" | "logGroupName"
> {
  readonly service: ServiceShape & { readonly ruleBlock: number };
  /** Deployed versions and which of them are live (validated by config.ts / the release store). */
  readonly release: ReleaseState;
  readonly logRetentionDays: number;
}

export interface VersionOutputs {
  readonly host: string;
  readonly targetGroupArn: pulumi.Output<string>;
  readonly alarmNames: string[];
  readonly ecsService: string;
}

/**
 * Everything of one service in a target: its log group and task role (kept across versions),
 * one `Workload` per deployed version, and the live rule of `<service>.<domain>`.
 */
export class Service extends pulumi.ComponentResource {
  public readonly liveHost: string;
  public readonly versions: Record<string, VersionOutputs>;

  constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cutover:service:Service", name, {}, opts);
    const parent = this;
    const { service, release } = args;

    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        name: `/${args.project}/${args.target}/${service.name}`,
        retentionInDays: args.logRetentionDays,
      },
      { parent },
    );
    // The application's own permissions are granted to this role outside cutover; it starts empty.
    const taskRole = new aws.iam.Role(
      `${name}-task-role`,
      {
        name: roleName(args.project, args.target, service.name, "task"),
        assumeRolePolicy: ecsTasksTrustPolicy(),
        maxSessionDuration: 3600,
      },
      { parent },
    );

    const workloads = new Map<string, Workload>();
    for (const version of release.versions) {
      workloads.set(
        version.sha,
        new Workload(
          `${name}-${version.short}`,
          {
            ...args,
            sha: version.sha,
            priority: versionPriority(service.ruleBlock, version.slot),
            taskRoleArn: taskRole.arn,
            logGroupName: logGroup.name,
          },
          { parent },
        ),
      );
    }

    this.liveHost = liveHost(service.name, args.domain);
    new LiveRule(
      `${name}-live`,
      {
        listenerArn: args.listenerArn,
        host: this.liveHost,
        priority: livePriority(service.ruleBlock),
        targets: release.live.map((l) => ({
          targetGroupArn: workloads.get(l.sha)!.targetGroup.arn,
          weight: l.weight,
        })),
      },
      { parent },
    );

    this.versions = Object.fromEntries(
      [...workloads].map(([sha, w]) => [
        sha,
        {
          host: w.host,
          targetGroupArn: w.targetGroup.arn,
          alarmNames: w.alarmNames,
          ecsService: w.serviceName,
        },
      ]),
    );
    this.registerOutputs({ liveHost: this.liveHost, versions: this.versions });
  }
}
