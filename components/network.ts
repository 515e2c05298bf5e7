import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";

export type NatMode = "none" | "single" | "perAz";

export interface NetworkArgs {
  /** IPv4 block of the VPC, e.g. `10.20.0.0/16` (validated by config.ts). */
  readonly cidr: string;
  /** Availability zones to spread subnets over; an ALB needs two. */
  readonly availabilityZones: number;
  /** Mask of each AZ's share of the block, and of its private and public subnets. */
  readonly subnetMasks: { readonly az: number; readonly private: number; readonly public: number };
  /**
   * NAT gateways for egress from private subnets.
   * `none` adds VPC endpoints for ECR, CloudWatch Logs and S3 instead, so tasks still start.
   */
  readonly nat: NatMode;
  /** Flow log retention in days. */
  readonly flowLogRetentionDays: number;
  /** Physical name of the role VPC Flow Logs assumes (inside the target's IAM role pattern). */
  readonly flowLogRoleName: string;
  /**
   * Protect the flow-log role and its inline policy. CI's deploy role may not write inline
   * policies (with that and CreateRole it could grant itself anything), so where CI deploys, an
   * administrator creates them once and `pulumi destroy --exclude-protected` leaves them.
   * @default false
   */
  readonly protectFlowLogRole?: boolean;
  /**
   * Tags for the VPC component. The provider's default tags already reach every AWS resource;
   * these make the target visible on the component's own inputs too (policies read them).
   */
  readonly tags?: Record<string, string>;
}

const NAT_STRATEGY: Record<NatMode, awsx.types.enums.ec2.NatGatewayStrategy> = {
  none: "None",
  single: "Single",
  perAz: "OnePerAz",
};

/**
 * The target's VPC: public and private subnets in each AZ, NAT per the `nat` mode, VPC flow logs
 * to CloudWatch, and the default security group closed (no rules), so nothing can use it.
 *
 * Cost: each NAT gateway is billed hourly plus per GB (`perAz` in prod means one per AZ);
 * with `none`, the four interface endpoints are billed hourly per AZ instead.
 */
export class Network extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  public readonly publicSubnetIds: pulumi.Output<string[]>;
  public readonly privateSubnetIds: pulumi.Output<string[]>;
  public readonly cidr: string;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cutover:platform:Network", name, {}, opts);
    const region = aws.getRegionOutput({}, { parent: this }).region;

    const vpc = createVpc.call(this);
    this.vpcId = vpc.vpcId;
    this.publicSubnetIds = vpc.publicSubnetIds;
    this.privateSubnetIds = vpc.privateSubnetIds;
    this.cidr = args.cidr;
    closeDefaultSecurityGroup.call(this);
    createFlowLogs.call(this);
    if (args.nat === "none") createEndpoints.call(this);

    this.registerOutputs({
      vpcId: this.vpcId,
      publicSubnetIds: this.publicSubnetIds,
      privateSubnetIds: this.privateSubnetIds,
    });

    function createVpc(this: Network) {
      return new awsx.ec2.Vpc(
        `${name}-vpc`,
        {
          cidrBlock: args.cidr,
          numberOfAvailabilityZones: args.availabilityZones,
          availabilityZoneCidrMask: args.subnetMasks.az,
          subnetStrategy: "Auto",
          subnetSpecs: [
            { type: "Private", cidrMask: args.subnetMasks.private },
            { type: "Public", cidrMask: args.subnetMasks.public },
          ],
          natGateways: { strategy: NAT_STRATEGY[args.nat] },
          enableDnsHostnames: true,
          enableDnsSupport: true,
          tags: args.tags,
        },
        { parent: this },
      );
    }

    function closeDefaultSecurityGroup(this: Network) {
      // Adopting the default group with no ingress/egress removes all of its rules (EC2.2).
      return new aws.ec2.DefaultSecurityGroup(
        `${name}-default-sg`,
        { vpcId: vpc.vpcId, ingress: [], egress: [] },
        { parent: this },
      );
    }

    function createFlowLogs(this: Network) {
      const group = new aws.cloudwatch.LogGroup(
        `${name}-flow-logs`,
        { retentionInDays: args.flowLogRetentionDays },
        { parent: this },
      );
      const role = new aws.iam.Role(
        `${name}-flow-logs-role`,
        {
          name: args.flowLogRoleName,
          assumeRolePolicy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { Service: "vpc-flow-logs.amazonaws.com" },
                Action: "sts:AssumeRole",
              },
            ],
          }),
        },
        { parent: this, protect: args.protectFlowLogRole },
      );
      new aws.iam.RolePolicy(
        `${name}-flow-logs-policy`,
        {
          role: role.id,
          policy: pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                Resource: [group.arn, pulumi.interpolate`${group.arn}:*`],
              },
            ],
          }),
        },
        { parent: this, protect: args.protectFlowLogRole },
      );
      return new aws.ec2.FlowLog(
        `${name}-flow-log`,
        {
          vpcId: vpc.vpcId,
          trafficType: "ALL",
          logDestinationType: "cloud-watch-logs",
          logDestination: group.arn,
          iamRoleArn: role.arn,
          maxAggregationInterval: 60,
        },
        { parent: this },
      );
    }

    function createEndpoints(this: Network) {
      const sg = new aws.ec2.SecurityGroup(
        `${name}-endpoints-sg`,
        {
          vpcId: vpc.vpcId,
          description: "HTTPS from inside the VPC to AWS service endpoints",
          ingress: [
            {
              protocol: "tcp",
              fromPort: 443,
              toPort: 443,
              cidrBlocks: [args.cidr],
              description: "VPC",
            },
          ],
          egress: [],
        },
        { parent: this },
      );
      for (const service of ["ecr.api", "ecr.dkr", "logs", "sts"]) {
        new aws.ec2.VpcEndpoint(
          `${name}-endpoint-${service.replace(".", "-")}`,
          {
            vpcId: vpc.vpcId,
            serviceName: pulumi.interpolate`com.amazonaws.${region}.${service}`,
            vpcEndpointType: "Interface",
            privateDnsEnabled: true,
            subnetIds: vpc.privateSubnetIds,
            securityGroupIds: [sg.id],
          },
          { parent: this },
        );
      }
      // ECR image layers are served from S3: a gateway endpoint on every route table of the VPC.
      const routeTables = aws.ec2.getRouteTablesOutput({ vpcId: vpc.vpcId }, { parent: this });
      new aws.ec2.VpcEndpoint(
        `${name}-endpoint-s3`,
        {
          vpcId: vpc.vpcId,
          serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
          vpcEndpointType: "Gateway",
          routeTableIds: routeTables.ids,
        },
        { parent: this },
      );
    }
  }
}
