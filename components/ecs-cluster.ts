import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { roleName } from "./naming";

export interface EcsClusterArgs {
  readonly project: string;
  readonly target: string;
  readonly vpcId: pulumi.Input<string>;
  /** The load balancer's security group: the only source tasks accept traffic from. */
  readonly loadBalancerSecurityGroupId: pulumi.Input<string>;
  /** Container ports of the services (the task group admits these from the ALB only). */
  readonly ports: readonly number[];
}

/**
 * The Fargate cluster of a target (Container Insights on), the security group every task runs
 * in, and the shared task execution role (pull images, write logs). Each service gets its own
 * task role elsewhere: the execution role is never the task role.
 */
export class EcsCluster extends pulumi.ComponentResource {
  public readonly cluster: aws.ecs.Cluster;
  public readonly taskSecurityGroup: aws.ec2.SecurityGroup;
  public readonly executionRole: aws.iam.Role;

  constructor(name: string, args: EcsClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cutover:platform:EcsCluster", name, {}, opts);
    const parent = this;

    this.cluster = new aws.ecs.Cluster(
      `${name}-cluster`,
      { settings: [{ name: "containerInsights", value: "enabled" }] },
      { parent },
    );

    const ports = [...new Set(args.ports)].sort((a, b) => a - b);
    this.taskSecurityGroup = new aws.ec2.SecurityGroup(
      `${name}-tasks-sg`,
      {
        vpcId: args.vpcId,
        description: "Tasks: traffic from the load balancer only",
        ingress: ports.map((port) => ({
          protocol: "tcp",
          fromPort: port,
          toPort: port,
          securityGroups: [args.loadBalancerSecurityGroupId],
          description: `Load balancer to port ${port}`,
        })),
        // HTTPS out: image pulls (ECR, S3), logs, and the services' own API calls.
        egress: [
          {
            protocol: "tcp",
            fromPort: 443,
            toPort: 443,
            cidrBlocks: ["0.0.0.0/0"],
            description: "HTTPS out",
          },
        ],
      },
      { parent },
    );

    this.executionRole = new aws.iam.Role(
      `${name}-execution-role`,
      {
        name: roleName(args.project, args.target, "ecs-execution"),
        assumeRolePolicy: ecsTasksTrustPolicy(),
        maxSessionDuration: 3600,
      },
      { parent },
    );
    new aws.iam.RolePolicyAttachment(
      `${name}-execution-role-policy`,
      {
        role: this.executionRole.name,
        policyArn: "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
      },
      { parent },
    );

    this.registerOutputs({
      cluster: this.cluster,
      taskSecurityGroup: this.taskSecurityGroup,
      executionRole: this.executionRole,
    });
  }
}

/** Trust policy for roles assumed by ECS tasks. */
export function ecsTasksTrustPolicy(): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "ecs-tasks.amazonaws.com" },
        Action: "sts:AssumeRole",
      },
    ],
  });
}
