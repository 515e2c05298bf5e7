import { ResourceValidationPolicy } from "@pulumi/policy";
import { isTarget, TARGET_TAG, targetTag, TARGETS } from "./common";

/**
 * AWS resource types that accept `tags` (their Args declare `tags?`), among those cutover creates
 * or that its components create inside awsx. A test derives the answer from
 * node_modules/@pulumi/aws for every member and for every `aws:` type the real stacks register,
 * so this list cannot drift from the provider nor miss a type the program starts using.
 */
export const TAGGABLE_AWS_TYPES: ReadonlySet<string> = new Set([
  "aws:acm/certificate:Certificate",
  "aws:alb/listener:Listener",
  "aws:alb/listenerRule:ListenerRule",
  "aws:alb/loadBalancer:LoadBalancer",
  "aws:alb/targetGroup:TargetGroup",
  "aws:cloudwatch/logGroup:LogGroup",
  "aws:cloudwatch/metricAlarm:MetricAlarm",
  "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
  "aws:ec2/eip:Eip",
  "aws:ec2/flowLog:FlowLog",
  "aws:ec2/internetGateway:InternetGateway",
  "aws:ec2/natGateway:NatGateway",
  "aws:ec2/routeTable:RouteTable",
  "aws:ec2/securityGroup:SecurityGroup",
  "aws:ec2/subnet:Subnet",
  "aws:ec2/vpc:Vpc",
  "aws:ec2/vpcEndpoint:VpcEndpoint",
  "aws:ecr/repository:Repository",
  "aws:ecs/cluster:Cluster",
  "aws:ecs/service:Service",
  "aws:ecs/taskDefinition:TaskDefinition",
  "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
  "aws:iam/policy:Policy",
  "aws:iam/role:Role",
  "aws:kms/key:Key",
  "aws:lb/listener:Listener",
  "aws:lb/listenerRule:ListenerRule",
  "aws:lb/loadBalancer:LoadBalancer",
  "aws:lb/targetGroup:TargetGroup",
  "aws:s3/bucket:Bucket",
  "aws:sns/topic:Topic",
  "aws:ssm/parameter:Parameter",
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
]);

export const taggingPolicies: ResourceValidationPolicy[] = [
  {
    name: "aws-target-tag",
    description: `CUTOVER-TAG: every taggable AWS resource carries \`${TARGET_TAG}\` (${TARGETS.join(", ")}), in its own tags or its provider's defaultTags.`,
    severity: "medium",
    validateResource: (args, report) => {
      if (!TAGGABLE_AWS_TYPES.has(args.type)) args.notApplicable("the type takes no tags");
      const value = targetTag(args);
      if (value === undefined) {
        report(
          `No \`${TARGET_TAG}\` tag: create the resource with the target's provider ` +
            "(its defaultTags carry the base tags) or tag it.",
        );
      } else if (!isTarget(value)) {
        report(`\`${TARGET_TAG}\` is ${JSON.stringify(value)}; use one of ${TARGETS.join(", ")}.`);
      }
    },
  },
];
