import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { wildcardRecord } from "./certificate";
import { LIMITS, physicalName } from "./naming";

/** TLS 1.3 with TLS 1.2 fallback, forward-secret ciphers only (ELB.17). */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

export interface EdgeArgs {
  /** Physical name of the load balancer (≤ 32 characters, from naming.ts). */
  readonly loadBalancerName: string;
  readonly vpcId: pulumi.Input<string>;
  /** CIDR of the VPC: the load balancer only talks to targets inside it. */
  readonly vpcCidr: string;
  /** Public subnets the load balancer lives in (one per AZ, at least two). */
  readonly publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Validated ACM certificate for `domain` and `*.domain`. */
  readonly certificateArn: pulumi.Input<string>;
  /** Hosted zone and domain for the `*.<domain>` alias record. */
  readonly zoneId: pulumi.Input<string>;
  readonly domain: string;
  /**
   * Keep the load balancer when the stack is destroyed by accident.
   * @default false
   */
  readonly deletionProtection?: boolean;
  /** Prefix of the access-log bucket's name (from naming.ts), so IAM can scope it per target. */
  readonly accessLogBucketPrefix: string;
  /** Days access logs are kept in S3. */
  readonly accessLogRetentionDays: number;
  /**
   * Empty the access-log bucket on `pulumi destroy`.
   * @default false
   */
  readonly forceDestroyLogs?: boolean;
}

/**
 * The target's single entry point: an internet-facing ALB in the public subnets whose security
 * group admits 80 and 443 from anywhere and nothing else; port 80 only redirects to 443; the
 * HTTPS listener (TLS 1.3 policy) answers 404 unless a host rule matches. Access logs go to an
 * encrypted, private S3 bucket. Also owns the `*.<domain>` alias record.
 *
 * Cost: an ALB is billed hourly plus LCUs, whether or not traffic flows.
 */
export class Edge extends pulumi.ComponentResource {
  /** HTTPS listener: host rules of versions and live hosts attach here. */
  public readonly listener: aws.lb.Listener;
  public readonly loadBalancer: aws.lb.LoadBalancer;
  public readonly securityGroup: aws.ec2.SecurityGroup;
  public readonly dnsName: pulumi.Output<string>;

  constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cutover:platform:Edge", name, {}, opts);
    if (args.loadBalancerName.length > LIMITS.loadBalancer) {
      throw new pulumi.ResourceError(
        `load balancer name ${args.loadBalancerName} is longer than ${LIMITS.loadBalancer} characters`,
        this,
      );
    }
    const parent = this;
    this.securityGroup = createSecurityGroup();
    const logs = createAccessLogBucket();
    this.loadBalancer = createLoadBalancer();
    createHttpRedirect();
    this.listener = createHttpsListener();
    wildcardRecord(
      `${name}-wildcard`,
      { zoneId: args.zoneId, domain: args.domain, loadBalancer: this.loadBalancer },
      this,
    );
    this.dnsName = this.loadBalancer.dnsName;
    this.registerOutputs({
      listener: this.listener,
      loadBalancer: this.loadBalancer,
      securityGroup: this.securityGroup,
      dnsName: this.dnsName,
    });

    function createSecurityGroup() {
      const world = { cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] };
      return new aws.ec2.SecurityGroup(
        `${name}-sg`,
        {
          vpcId: args.vpcId,
          description: "Internet to the load balancer: HTTP (redirect only) and HTTPS",
          ingress: [
            {
              protocol: "tcp",
              fromPort: 80,
              toPort: 80,
              ...world,
              description: "HTTP, redirected to HTTPS",
            },
            { protocol: "tcp", fromPort: 443, toPort: 443, ...world, description: "HTTPS" },
          ],
          egress: [
            {
              protocol: "tcp",
              fromPort: 0,
              toPort: 65535,
              cidrBlocks: [args.vpcCidr],
              description: "Targets in the VPC",
            },
          ],
        },
        { parent },
      );
    }

    function createAccessLogBucket() {
      const bucket = new aws.s3.Bucket(
        `${name}-access-logs`,
        { bucketPrefix: args.accessLogBucketPrefix, forceDestroy: args.forceDestroyLogs ?? false },
        { parent },
      );
      new aws.s3.BucketPublicAccessBlock(
        `${name}-access-logs-private`,
        {
          bucket: bucket.id,
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        },
        { parent },
      );
      new aws.s3.BucketOwnershipControls(
        `${name}-access-logs-ownership`,
        { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
        { parent },
      );
      // ALB access logs support SSE-S3 only, not KMS.
      new aws.s3.BucketServerSideEncryptionConfiguration(
        `${name}-access-logs-encryption`,
        {
          bucket: bucket.id,
          rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
        },
        { parent },
      );
      new aws.s3.BucketLifecycleConfiguration(
        `${name}-access-logs-lifecycle`,
        {
          bucket: bucket.id,
          rules: [
            {
              id: "expire-access-logs",
              status: "Enabled",
              filter: {},
              expiration: { days: args.accessLogRetentionDays },
              abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
            },
          ],
        },
        { parent },
      );
      const account = aws.getCallerIdentityOutput({}, { parent }).accountId;
      const elbAccount = aws.elb.getServiceAccountOutput({}, { parent }).arn;
      const policy = new aws.s3.BucketPolicy(
        `${name}-access-logs-policy`,
        {
          bucket: bucket.id,
          policy: pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "LoadBalancerLogDelivery",
                Effect: "Allow",
                // Regions older than August 2022 deliver as the regional ELB account, newer ones
                // as the log delivery service.
                Principal: {
                  AWS: elbAccount,
                  Service: "logdelivery.elasticloadbalancing.amazonaws.com",
                },
                Action: "s3:PutObject",
                Resource: pulumi.interpolate`${bucket.arn}/AWSLogs/${account}/*`,
              },
              {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
              },
            ],
          }),
        },
        { parent },
      );
      return { bucket, policy };
    }

    function createLoadBalancer() {
      return new aws.lb.LoadBalancer(
        `${name}-alb`,
        {
          name: args.loadBalancerName,
          loadBalancerType: "application",
          internal: false,
          subnets: args.publicSubnetIds,
          securityGroups: [parent.securityGroup.id],
          dropInvalidHeaderFields: true,
          enableDeletionProtection: args.deletionProtection ?? false,
          idleTimeout: 60,
          accessLogs: { bucket: logs.bucket.bucket, enabled: true },
        },
        // The bucket policy must exist before ELB checks it can write there.
        { parent, dependsOn: [logs.policy] },
      );
    }

    function createHttpRedirect() {
      return new aws.lb.Listener(
        `${name}-http`,
        {
          loadBalancerArn: parent.loadBalancer.arn,
          port: 80,
          protocol: "HTTP",
          defaultActions: [
            {
              type: "redirect",
              redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" },
            },
          ],
        },
        { parent },
      );
    }

    function createHttpsListener() {
      return new aws.lb.Listener(
        `${name}-https`,
        {
          loadBalancerArn: parent.loadBalancer.arn,
          port: 443,
          protocol: "HTTPS",
          sslPolicy: TLS_POLICY,
          certificateArn: args.certificateArn,
          defaultActions: [
            {
              type: "fixed-response",
              fixedResponse: {
                contentType: "text/plain",
                statusCode: "404",
                messageBody: "no such host",
              },
            },
          ],
        },
        { parent },
      );
    }
  }
}

/** Physical name of a target's load balancer. */
export function loadBalancerName(project: string, target: string): string {
  return physicalName(LIMITS.loadBalancer, project, target);
}
