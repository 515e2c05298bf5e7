import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LIMITS, physicalName, targetGroupName, versionHost } from "./naming";

/** The container runs as this numeric user: never root. Images must not need root to start. */
export const CONTAINER_USER = "1000:1000";
/** Seconds a retired or replaced target keeps serving in-flight requests. */
export const DEREGISTRATION_DELAY = 30;

export interface ServiceShape {
  readonly name: string;
  readonly port: number;
  readonly healthCheckPath: string;
  readonly cpu: number;
  readonly memory: number;
  readonly desiredCount: number;
  readonly alarms: { readonly errorRatePercent: number; readonly p95LatencyMs: number };
  readonly environment: Readonly<Record<string, string>>;
}

export interface WorkloadArgs {
  readonly project: string;
  readonly target: string;
  readonly region: string;
  readonly domain: string;
  readonly service: ServiceShape;
  /** The commit SHA this workload runs; the image tag is exactly this string. */
  readonly sha: string;
  /** Listener-rule priority of this version's host; fixed for the life of the version. */
  readonly priority: number;
  readonly repositoryUrl: pulumi.Input<string>;
  readonly listenerArn: pulumi.Input<string>;
  readonly loadBalancerArnSuffix: pulumi.Input<string>;
  readonly clusterArn: pulumi.Input<string>;
  readonly vpcId: pulumi.Input<string>;
  readonly privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
  readonly taskSecurityGroupId: pulumi.Input<string>;
  readonly executionRoleArn: pulumi.Input<string>;
  readonly taskRoleArn: pulumi.Input<string>;
  readonly logGroupName: pulumi.Input<string>;
  readonly alarmTopicArn: pulumi.Input<string>;
}

/** The container definitions of one version: a computed document, snapshot-tested. */
export function containerDefinitions(args: {
  service: ServiceShape;
  image: string;
  sha: string;
  target: string;
  region: string;
  logGroupName: string;
}): string {
  const { service } = args;
  const url = `http://127.0.0.1:${service.port}${service.healthCheckPath}`;
  return JSON.stringify([
    {
      name: service.name,
      image: args.image,
      essential: true,
      user: CONTAINER_USER,
      readonlyRootFilesystem: true,
      portMappings: [{ containerPort: service.port, protocol: "tcp" }],
      // The root filesystem is read-only; /tmp is the one writable (ephemeral) path.
      mountPoints: [{ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false }],
      environment: Object.entries({
        ...service.environment,
        PORT: String(service.port),
        CUTOVER_TARGET: args.target,
        CUTOVER_VERSION: args.sha,
      })
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, value]) => ({ name, value })),
      logConfiguration: {
        logDriver: "awslogs",
        options: {
          "awslogs-group": args.logGroupName,
          "awslogs-region": args.region,
          "awslogs-stream-prefix": args.sha.slice(0, 7),
        },
      },
      healthCheck: {
        // The image must ship curl or wget (busybox counts).
        command: [
          "CMD-SHELL",
          `curl -fsS -o /dev/null ${url} || wget -q -O /dev/null ${url} || exit 1`,
        ],
        interval: 15,
        timeout: 5,
        retries: 3,
        startPeriod: 30,
      },
      linuxParameters: { initProcessEnabled: true },
      stopTimeout: 30,
    },
  ]);
}

/**
 * One version (one commit SHA) of one service, reachable at `<service>-<sha7>.<domain>`:
 * a target group (ip targets, health check on the service's path), a Fargate task definition and
 * ECS service in the private subnets, the host rule, and alarms on 5xx rate and p95 latency.
 * Staging a version adds exactly these resources; retiring it deletes exactly these.
 */
export class Workload extends pulumi.ComponentResource {
  public readonly host: string;
  public readonly targetGroup: aws.lb.TargetGroup;
  public readonly alarmNames: string[];
  public readonly serviceName: string;

  constructor(name: string, args: WorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cutover:service:Workload", name, {}, opts);
    const parent = this;
    const { service, sha } = args;
    const short = sha.slice(0, 7);
    this.host = versionHost(service.name, sha, args.domain);
    this.serviceName = `${service.name}-${short}`;

    this.targetGroup = new aws.lb.TargetGroup(
      `${name}-tg`,
      {
        name: targetGroupName(args.target, service.name, sha, service.port),
        port: service.port,
        protocol: "HTTP",
        targetType: "ip",
        vpcId: args.vpcId,
        deregistrationDelay: DEREGISTRATION_DELAY,
        healthCheck: {
          path: service.healthCheckPath,
          matcher: "200-399",
          interval: 15,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
      },
      { parent },
    );

    const rule = new aws.lb.ListenerRule(
      `${name}-rule`,
      {
        listenerArn: args.listenerArn,
        priority: args.priority,
        conditions: [{ hostHeader: { values: [this.host] } }],
        actions: [{ type: "forward", targetGroupArn: this.targetGroup.arn }],
      },
      { parent },
    );

    const taskDefinition = new aws.ecs.TaskDefinition(
      `${name}-task`,
      {
        family: physicalName(255, args.project, args.target, service.name, short),
        cpu: String(service.cpu),
        memory: String(service.memory),
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
        executionRoleArn: args.executionRoleArn,
        taskRoleArn: args.taskRoleArn,
        volumes: [{ name: "tmp" }],
        containerDefinitions: pulumi
          .all([args.repositoryUrl, args.logGroupName])
          .apply(([repositoryUrl, logGroupName]) =>
            containerDefinitions({
              service,
              image: `${repositoryUrl}:${sha}`,
              sha,
              target: args.target,
              region: args.region,
              logGroupName,
            }),
          ),
      },
      { parent },
    );

    new aws.ecs.Service(
      `${name}-service`,
      {
        name: this.serviceName,
        cluster: args.clusterArn,
        taskDefinition: taskDefinition.arn,
        desiredCount: service.desiredCount,
        launchType: "FARGATE",
        platformVersion: "LATEST",
        networkConfiguration: {
          subnets: args.privateSubnetIds,
          securityGroups: [args.taskSecurityGroupId],
          assignPublicIp: false,
        },
        loadBalancers: [
          {
            targetGroupArn: this.targetGroup.arn,
            containerName: service.name,
            containerPort: service.port,
          },
        ],
        deploymentCircuitBreaker: { enable: true, rollback: true },
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        healthCheckGracePeriodSeconds: 30,
        propagateTags: "SERVICE",
        enableEcsManagedTags: true,
        // The release command waits on target health with its own timeout and messages.
        waitForSteadyState: false,
      },
      // ECS refuses a target group that is not yet attached to a load balancer (via the rule).
      { parent, dependsOn: [rule] },
    );

    this.alarmNames = createAlarms();
    this.registerOutputs({
      host: this.host,
      targetGroup: this.targetGroup,
      alarmNames: this.alarmNames,
    });

    function createAlarms(): string[] {
      const dimensions = {
        TargetGroup: parent.targetGroup.arnSuffix,
        LoadBalancer: args.loadBalancerArnSuffix,
      };
      const actions = [args.alarmTopicArn];
      const errorName = physicalName(
        LIMITS.alarm,
        args.project,
        args.target,
        service.name,
        short,
        "5xx-rate",
      );
      new aws.cloudwatch.MetricAlarm(
        `${name}-5xx-rate`,
        {
          name: errorName,
          alarmDescription: `${parent.host}: more than ${service.alarms.errorRatePercent}% of requests answered 5xx`,
          comparisonOperator: "GreaterThanThreshold",
          threshold: service.alarms.errorRatePercent,
          evaluationPeriods: 2,
          datapointsToAlarm: 2,
          treatMissingData: "notBreaching",
          metricQueries: [
            {
              id: "errors",
              metric: {
                namespace: "AWS/ApplicationELB",
                metricName: "HTTPCode_Target_5XX_Count",
                period: 60,
                stat: "Sum",
                dimensions,
              },
            },
            {
              id: "requests",
              metric: {
                namespace: "AWS/ApplicationELB",
                metricName: "RequestCount",
                period: 60,
                stat: "Sum",
                dimensions,
              },
            },
            {
              id: "rate",
              expression: "IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)",
              label: "5xx %",
              returnData: true,
            },
          ],
          alarmActions: actions,
          okActions: actions,
        },
        { parent },
      );
      const latencyName = physicalName(
        LIMITS.alarm,
        args.project,
        args.target,
        service.name,
        short,
        "p95-latency",
      );
      new aws.cloudwatch.MetricAlarm(
        `${name}-p95-latency`,
        {
          name: latencyName,
          alarmDescription: `${parent.host}: p95 latency above ${service.alarms.p95LatencyMs} ms`,
          namespace: "AWS/ApplicationELB",
          metricName: "TargetResponseTime",
          dimensions,
          extendedStatistic: "p95",
          period: 60,
          evaluationPeriods: 3,
          datapointsToAlarm: 3,
          comparisonOperator: "GreaterThanThreshold",
          threshold: service.alarms.p95LatencyMs / 1000,
          treatMissingData: "notBreaching",
          alarmActions: actions,
          okActions: actions,
        },
        { parent },
      );
      return [errorName, latencyName];
    }
  }
}
