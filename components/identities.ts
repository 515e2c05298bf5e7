import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { physicalName, releaseLockParameterName, repositoryName, roleName } from "./naming";
import { TARGET_TAG } from "./tags";

/** GitHub's OIDC issuer; AWS names the provider after its host. */
export const GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com";
const ISSUER = "token.actions.githubusercontent.com";
/** The audience `aws-actions/configure-aws-credentials` asks GitHub for. */
export const STS_AUDIENCE = "sts.amazonaws.com";

/**
 * Longest session each role hands out, in seconds. One hour covers a preview or an image push;
 * the deploy role gets two because a release waits for health checks and alarms, and credentials
 * that expire in the middle of `pulumi up` leave the stack half-updated.
 */
export const MAX_SESSION_SECONDS = { preview: 3600, push: 3600, deploy: 7200 } as const;

/** The only AWS-managed policy the deploy role may attach: ECS task execution (pull, log). */
export const TASK_EXECUTION_POLICY_ARN =
  "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

export interface IdentitiesArgs {
  readonly project: string;
  readonly target: string;
  readonly region: string;
  /**
   * The `repo:` part of the OIDC subject of the one repository whose workflows may assume the
   * roles (no wildcard).
   * @example "repo:acme/shop"
   */
  readonly subjectPrefix: string;
  /**
   * `create` the account's GitHub OIDC provider here, or look up the `existing` one. An account
   * holds one provider per issuer, so exactly one stack per account creates it.
   */
  readonly oidcProvider: "create" | "existing";
  /** SSM path of the target's release state (ends with `/`), e.g. `/cutover/prod/releases/`. */
  readonly releaseParameterPath: string;
  /** Hosted zone the target's records live in; the only zone the deploy role may change. */
  readonly hostedZoneId: pulumi.Input<string>;
  /** The target's domain: the deploy role changes records under it only. */
  readonly domain: string;
  /** Services of the target: each has an ECR repository `<project>/<target>/<service>`. */
  readonly services: readonly string[];
  /**
   * Name prefix of the load balancer's access-log bucket (its physical name is generated).
   * @example "edge-access-logs-"
   */
  readonly accessLogBucketPrefix: string;
}

/**
 * The identities GitHub Actions uses in AWS, for one target:
 * - the account's GitHub OIDC provider (created by one stack, looked up by the others);
 * - a managed policy reading the target's resource metadata, shared by preview and deploy;
 * - `preview`: read-only, for pull requests (`pulumi preview`);
 * - `deploy`: `pulumi up`/`destroy` and the release command, for the target's GitHub environment;
 * - `push`: pushes images to the target's ECR repositories, for the same environment.
 *
 * Each role trusts exactly one OIDC subject with `StringEquals` (never `ForAllValues`: `sub` and
 * `aud` are single-valued). Policy documents are written here as JSON and read by tests as they
 * reach the engine. The roles' own policies are not writable by the deploy role: changing them
 * takes an administrator's `pulumi up`, like the first one.
 *
 * Nothing here depends on a resource of the platform (names and patterns, not resource outputs),
 * so the identities can outlive it: `pulumi destroy --exclude-protected` keeps a protected
 * resource's dependencies, and a deploy policy depending on the VPC would be deleted before it.
 */
export class Identities extends pulumi.ComponentResource {
  public readonly oidcProviderArn: pulumi.Output<string>;
  public readonly previewRole: aws.iam.Role;
  public readonly deployRole: aws.iam.Role;
  public readonly pushRole: aws.iam.Role;
  /** The account's ECR registry host, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com`. */
  public readonly registry: pulumi.Output<string>;
  /** Repository URL by service: where the push role may push. */
  public readonly repositoryUrls: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: IdentitiesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cutover:ci:Identities", name, {}, opts);
    validateIdentitiesArgs(args, this);
    const parent = this;

    this.oidcProviderArn = openIdConnectProvider();
    const account = aws.getCallerIdentityOutput({}, { parent }).accountId;
    const scope: pulumi.Output<PolicyScope> = pulumi
      .all([account, args.hostedZoneId])
      .apply(([account, hostedZoneId]) => ({
        account,
        region: args.region,
        project: args.project,
        target: args.target,
        releaseParameterPath: args.releaseParameterPath,
        hostedZoneId,
        domain: args.domain,
        accessLogBucketPrefix: args.accessLogBucketPrefix,
      }));
    this.registry = pulumi.interpolate`${account}.dkr.ecr.${args.region}.amazonaws.com`;
    this.repositoryUrls = this.registry.apply((registry) =>
      Object.fromEntries(
        args.services.map((service) => [
          service,
          `${registry}/${repositoryName(args.project, args.target, service)}`,
        ]),
      ),
    );

    // Shared, and managed rather than inline: IAM caps a role's inline policies at 10,240
    // characters, and the deploy role's writes alone come close.
    const read = new aws.iam.Policy(
      `${name}-read`,
      {
        name: physicalName(128, args.project, args.target, "ci-read"),
        description: `Reads the metadata of ${args.target}'s resources (pulumi preview and up)`,
        policy: scope.apply((s) => JSON.stringify(readPolicy(s))),
      },
      { parent },
    );
    const pullRequest = `${args.subjectPrefix}:pull_request`;
    const environment = `${args.subjectPrefix}:environment:${args.target}`;
    this.previewRole = createRole("preview", pullRequest, previewPolicy, read);
    this.deployRole = createRole("deploy", environment, deployPolicy, read);
    this.pushRole = createRole("push", environment, pushPolicy);

    this.registerOutputs({
      oidcProviderArn: this.oidcProviderArn,
      previewRole: this.previewRole,
      deployRole: this.deployRole,
      pushRole: this.pushRole,
      registry: this.registry,
      repositoryUrls: this.repositoryUrls,
    });

    function openIdConnectProvider(): pulumi.Output<string> {
      if (args.oidcProvider === "existing") {
        return aws.iam.getOpenIdConnectProviderOutput({ url: GITHUB_OIDC_URL }, { parent }).arn;
      }
      // No thumbprint: IAM verifies GitHub's issuer against its own trusted CAs.
      return new aws.iam.OpenIdConnectProvider(
        `${name}-github-oidc`,
        { url: GITHUB_OIDC_URL, clientIdLists: [STS_AUDIENCE] },
        { parent },
      ).arn;
    }

    function createRole(
      role: keyof typeof MAX_SESSION_SECONDS,
      subject: string,
      policy: (scope: PolicyScope) => PolicyDocument,
      managed?: aws.iam.Policy,
    ): aws.iam.Role {
      const created = new aws.iam.Role(
        `${name}-${role}`,
        {
          name: roleName(args.project, args.target, role),
          description: `GitHub Actions (${subject}) in ${args.target}`,
          assumeRolePolicy: parent.oidcProviderArn.apply((arn) =>
            JSON.stringify(githubTrustPolicy(arn, subject)),
          ),
          maxSessionDuration: MAX_SESSION_SECONDS[role],
        },
        { parent },
      );
      new aws.iam.RolePolicy(
        `${name}-${role}-policy`,
        { role: created.id, policy: scope.apply((s) => JSON.stringify(policy(s))) },
        { parent },
      );
      if (managed) {
        new aws.iam.RolePolicyAttachment(
          `${name}-${role}-read`,
          { role: created.name, policyArn: managed.arn },
          { parent },
        );
      }
      return created;
    }
  }
}

function validateIdentitiesArgs(args: IdentitiesArgs, resource: pulumi.Resource): void {
  // config.ts refuses this with the key's name; here it guards the component used on its own,
  // since a wildcard in the prefix would open every role to other repositories.
  if (!/^repo:[^\s*?:/]+\/[^\s*?:/]+$/.test(args.subjectPrefix)) {
    throw new pulumi.ResourceError(
      `OIDC subject prefix ${JSON.stringify(args.subjectPrefix)} must name one repository, e.g. repo:acme/shop, without wildcards`,
      resource,
    );
  }
  if (!args.releaseParameterPath.startsWith("/") || !args.releaseParameterPath.endsWith("/")) {
    throw new pulumi.ResourceError(
      `release parameter path ${args.releaseParameterPath} must start and end with /`,
      resource,
    );
  }
}

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action: string | readonly string[];
  /** Absent in trust policies, whose resource is the role itself. */
  readonly Resource?: string | readonly string[];
  readonly Principal?: Record<string, string>;
  readonly Condition?: Record<string, Record<string, string | readonly string[]>>;
}

export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly PolicyStatement[];
}

/** Everything a target's policies are scoped to, resolved. */
export interface PolicyScope {
  readonly account: string;
  readonly region: string;
  readonly project: string;
  readonly target: string;
  readonly releaseParameterPath: string;
  readonly hostedZoneId: string;
  readonly domain: string;
  readonly accessLogBucketPrefix: string;
}

/** Who may assume a role: GitHub workflows whose token has exactly this `sub`, for STS. */
export function githubTrustPolicy(providerArn: string, subject: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "GitHubActions",
        Effect: "Allow",
        Principal: { Federated: providerArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: { [`${ISSUER}:aud`]: STS_AUDIENCE, [`${ISSUER}:sub`]: subject },
        },
      },
    ],
  };
}

/**
 * What `pulumi preview` and `pulumi up` read for one target: metadata of the resources the program
 * manages. Deliberately not AWS's ReadOnlyAccess, which also reads SSM parameters, S3 objects and
 * secrets; and no `ec2:Describe*`, which reaches instance user data.
 */
export function readPolicy(scope: PolicyScope): PolicyDocument {
  return { Version: "2012-10-17", Statement: readStatements(scope) };
}

/** The preview role's own policy (besides `readPolicy`): the target's release state. */
export function previewPolicy(scope: PolicyScope): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ReadReleaseState",
        Effect: "Allow",
        Action: ["ssm:GetParametersByPath"],
        Resource: releaseParameterArns(scope),
      },
    ],
  };
}

/**
 * What `pulumi up`, `pulumi destroy` and the release command change for one target (reads are in
 * `readPolicy`). Resources are
 * scoped by the `cutover:target` tag where IAM supports tag conditions (created with the tag,
 * changed only while carrying it), by name where the program sets names, and to the target's
 * hosted zone records, release parameters and roles otherwise.
 */
export function deployPolicy(scope: PolicyScope): PolicyDocument {
  const { account, region, target } = scope;
  const requestTag = { [`aws:RequestTag/${TARGET_TAG}`]: target };
  const resourceTag = { [`aws:ResourceTag/${TARGET_TAG}`]: target };
  const rolePattern = `arn:aws:iam::${account}:role/${physicalName(64, scope.project, target)}-*`;
  const bucket = `arn:aws:s3:::${scope.accessLogBucketPrefix}*`;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "CreateWithTargetTag",
        Effect: "Allow",
        Action: [
          ...EC2_CREATE,
          ...ELB_CREATE,
          ...ECS_CREATE,
          "acm:RequestCertificate",
          "acm:AddTagsToCertificate",
          "kms:CreateKey",
          "kms:TagResource",
          "sns:CreateTopic",
          "sns:TagResource",
          "logs:CreateLogGroup",
          "logs:TagResource",
          "logs:TagLogGroup",
        ],
        Resource: "*",
        // Created carrying this target's tag; never touching a resource of another target.
        Condition: { StringEquals: requestTag, StringEqualsIfExists: resourceTag },
      },
      {
        Sid: "TagEc2OnCreate",
        Effect: "Allow",
        Action: ["ec2:CreateTags"],
        Resource: "*",
        Condition: { StringEquals: { ...requestTag, "ec2:CreateAction": EC2_CREATE } },
      },
      {
        Sid: "TagLoadBalancingOnCreate",
        Effect: "Allow",
        Action: ["elasticloadbalancing:AddTags"],
        Resource: "*",
        Condition: {
          StringEquals: { ...requestTag, "elasticloadbalancing:CreateAction": ELB_CREATE },
        },
      },
      {
        Sid: "TagEcsOnCreate",
        Effect: "Allow",
        Action: ["ecs:TagResource"],
        Resource: "*",
        Condition: { StringEquals: { ...requestTag, "ecs:CreateAction": ECS_CREATE } },
      },
      {
        Sid: "ManageTargetTagged",
        Effect: "Allow",
        Action: [
          ...EC2_MANAGE,
          ...ELB_MANAGE,
          ...ECS_MANAGE,
          "acm:DeleteCertificate",
          "acm:AddTagsToCertificate",
          "acm:RemoveTagsFromCertificate",
          "acm:UpdateCertificateOptions",
          // No kms:PutKeyPolicy: a key policy decides who decrypts; it changes with an admin.
          "kms:EnableKeyRotation",
          "kms:ScheduleKeyDeletion",
          "kms:UpdateKeyDescription",
          "kms:TagResource",
          "kms:UntagResource",
          "sns:DeleteTopic",
          "sns:SetTopicAttributes",
          "sns:Subscribe",
          "sns:Unsubscribe",
          "sns:TagResource",
          "sns:UntagResource",
          "logs:DeleteLogGroup",
          "logs:PutRetentionPolicy",
          "logs:DeleteRetentionPolicy",
          "logs:TagResource",
          "logs:UntagResource",
          "logs:TagLogGroup",
          "logs:UntagLogGroup",
        ],
        Resource: "*",
        Condition: { StringEquals: resourceTag },
      },
      {
        // AWS creates a VPC's default security group untagged; adopting it, the program tags it
        // first and then empties it (as ManageTargetTagged). Only untagged groups, only this tag.
        Sid: "AdoptDefaultSecurityGroup",
        Effect: "Allow",
        Action: ["ec2:CreateTags"],
        Resource: `arn:aws:ec2:${region}:${account}:security-group/*`,
        Condition: {
          StringEquals: requestTag,
          Null: { [`aws:ResourceTag/${TARGET_TAG}`]: "true" },
        },
      },
      {
        // ECS authorizes these on `*` only. Deregistering marks a revision INACTIVE; running
        // tasks and services keep running.
        Sid: "TaskDefinitionRevisions",
        Effect: "Allow",
        Action: ["ecs:DeregisterTaskDefinition"],
        Resource: "*",
      },
      {
        Sid: "TargetRepositories",
        Effect: "Allow",
        Action: [
          "ecr:CreateRepository",
          "ecr:DeleteRepository",
          "ecr:PutLifecyclePolicy",
          "ecr:DeleteLifecyclePolicy",
          "ecr:PutImageScanningConfiguration",
          "ecr:PutImageTagMutability",
          "ecr:TagResource",
          "ecr:UntagResource",
        ],
        Resource: repositoryPattern(scope),
      },
      {
        // The release command pins a deployed version's image (adds the tag deployed-<sha>)
        // so the lifecycle rules keep it, and removes that tag when the version is retired.
        Sid: "PinDeployedImages",
        Effect: "Allow",
        Action: ["ecr:BatchGetImage", "ecr:PutImage", "ecr:BatchDeleteImage"],
        Resource: repositoryPattern(scope),
      },
      {
        // KMS-encrypted repositories: ECR takes a grant on the AWS-managed key for the caller.
        Sid: "RepositoryEncryption",
        Effect: "Allow",
        Action: ["kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"],
        Resource: "*",
        Condition: { StringEquals: { "kms:ViaService": `ecr.${region}.amazonaws.com` } },
      },
      {
        // No iam:PutRolePolicy or iam:UpdateAssumeRolePolicy: with them this role could grant
        // itself anything through a role it can name. Trust and inline policies change with an
        // administrator; the program's roles use neither after creation.
        Sid: "TargetRoles",
        Effect: "Allow",
        Action: [
          "iam:CreateRole",
          "iam:DeleteRole",
          "iam:UpdateRole",
          "iam:UpdateRoleDescription",
          "iam:TagRole",
          "iam:UntagRole",
        ],
        Resource: rolePattern,
      },
      {
        Sid: "AttachTaskExecutionPolicyOnly",
        Effect: "Allow",
        Action: ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
        Resource: rolePattern,
        Condition: { ArnEquals: { "iam:PolicyARN": TASK_EXECUTION_POLICY_ARN } },
      },
      {
        Sid: "PassTargetRolesToEcsAndFlowLogs",
        Effect: "Allow",
        Action: ["iam:PassRole"],
        Resource: rolePattern,
        Condition: {
          StringEquals: {
            "iam:PassedToService": ["ecs-tasks.amazonaws.com", "vpc-flow-logs.amazonaws.com"],
          },
        },
      },
      {
        Sid: "ReleaseState",
        Effect: "Allow",
        Action: [
          "ssm:GetParameter",
          "ssm:GetParameters",
          "ssm:GetParametersByPath",
          "ssm:GetParameterHistory",
          "ssm:PutParameter",
          "ssm:AddTagsToResource",
          "ssm:ListTagsForResource",
        ],
        Resource: releaseParameterArns(scope),
      },
      {
        // The release command's per-service lock: created only if absent, deleted when done.
        Sid: "ReleaseLocks",
        Effect: "Allow",
        Action: ["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"],
        Resource: `arn:aws:ssm:${region}:${account}:parameter${releaseLockParameterName(scope.project, target, "*")}`,
      },
      {
        // The zone is shared by every target: only names under this target's domain.
        // ForAllValues is right here, unlike on OIDC claims: a change lists many names, and each
        // must be the target's. The key is always present on this action.
        Sid: "TargetRecords",
        Effect: "Allow",
        Action: ["route53:ChangeResourceRecordSets"],
        Resource: `arn:aws:route53:::hostedzone/${scope.hostedZoneId}`,
        Condition: {
          "ForAllValues:StringLike": {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": [`*.${scope.domain}`],
          },
        },
      },
      {
        Sid: "TargetAlarms",
        Effect: "Allow",
        Action: [
          "cloudwatch:PutMetricAlarm",
          "cloudwatch:DeleteAlarms",
          "cloudwatch:TagResource",
          "cloudwatch:UntagResource",
        ],
        Resource: `arn:aws:cloudwatch:${region}:${account}:alarm:${physicalName(255, scope.project, target)}-*`,
      },
      {
        // The release command watches the new version's error rate and latency.
        Sid: "ReadMetrics",
        Effect: "Allow",
        Action: ["cloudwatch:GetMetricData"],
        Resource: "*",
      },
      {
        Sid: "AccessLogBucket",
        Effect: "Allow",
        Action: [
          "s3:CreateBucket",
          "s3:DeleteBucket",
          "s3:PutBucketPolicy",
          "s3:DeleteBucketPolicy",
          "s3:PutBucketPublicAccessBlock",
          "s3:PutBucketOwnershipControls",
          "s3:PutEncryptionConfiguration",
          "s3:PutLifecycleConfiguration",
          "s3:PutBucketTagging",
          "s3:ListBucketVersions",
        ],
        Resource: bucket,
      },
      {
        // `forceDestroy` outside prod empties the bucket on destroy; nothing here reads objects.
        Sid: "EmptyAccessLogBucket",
        Effect: "Allow",
        Action: ["s3:DeleteObject", "s3:DeleteObjectVersion"],
        Resource: `${bucket}/*`,
      },
    ],
  };
}

/** Push images to the target's repositories; nothing else. */
export function pushPolicy(scope: PolicyScope): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        // The registry login token: ECR offers it for the whole registry only.
        Sid: "RegistryLogin",
        Effect: "Allow",
        Action: ["ecr:GetAuthorizationToken"],
        Resource: "*",
      },
      {
        Sid: "PushToTargetRepositories",
        Effect: "Allow",
        Action: [
          "ecr:BatchCheckLayerAvailability",
          "ecr:InitiateLayerUpload",
          "ecr:UploadLayerPart",
          "ecr:CompleteLayerUpload",
          "ecr:PutImage",
          "ecr:BatchGetImage",
          "ecr:DescribeImages",
        ],
        Resource: repositoryPattern(scope),
      },
    ],
  };
}

/** Metadata only, never data. */
function readStatements(scope: PolicyScope): PolicyStatement[] {
  const { account, target } = scope;
  return [
    {
      Sid: "DescribeResources",
      Effect: "Allow",
      Action: [
        "ec2:DescribeAccountAttributes",
        "ec2:DescribeAddresses",
        "ec2:DescribeAddressesAttribute",
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeFlowLogs",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeNatGateways",
        "ec2:DescribeNetworkAcls",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribePrefixLists",
        "ec2:DescribeRegions",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeTags",
        "ec2:DescribeVpcAttribute",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeVpcEndpointServices",
        "ec2:DescribeVpcs",
        "elasticloadbalancing:DescribeListenerAttributes",
        "elasticloadbalancing:DescribeListenerCertificates",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeSSLPolicies",
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetHealth",
        "ecs:DescribeClusters",
        "ecs:DescribeServices",
        "ecs:DescribeTaskDefinition",
        "ecs:ListTagsForResource",
        "acm:DescribeCertificate",
        "acm:ListCertificates",
        "acm:ListTagsForCertificate",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:ListTagsForResource",
        "logs:DescribeLogGroups",
        "logs:ListTagsForResource",
        "logs:ListTagsLogGroup",
        "sns:GetSubscriptionAttributes",
        "sns:GetTopicAttributes",
        "sns:ListSubscriptionsByTopic",
        "sns:ListTagsForResource",
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListResourceTags",
        "iam:GetOpenIDConnectProvider",
        "iam:ListOpenIDConnectProviders",
        "route53:GetChange",
        "route53:ListHostedZones",
        "route53:ListHostedZonesByName",
      ],
      // Describe and list calls take no resource ARN.
      Resource: "*",
    },
    {
      Sid: "ReadTargetRepositories",
      Effect: "Allow",
      Action: [
        "ecr:DescribeRepositories",
        "ecr:GetLifecyclePolicy",
        "ecr:ListTagsForResource",
        "ecr:DescribeImages",
      ],
      Resource: repositoryPattern(scope),
    },
    {
      Sid: "ReadTargetRoles",
      Effect: "Allow",
      Action: [
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
        "iam:ListRolePolicies",
        "iam:ListRoleTags",
      ],
      Resource: `arn:aws:iam::${account}:role/${physicalName(64, scope.project, target)}-*`,
    },
    {
      Sid: "ReadHostedZone",
      Effect: "Allow",
      Action: [
        "route53:GetHostedZone",
        "route53:ListResourceRecordSets",
        "route53:ListTagsForResource",
      ],
      Resource: `arn:aws:route53:::hostedzone/${scope.hostedZoneId}`,
    },
    {
      // Bucket configuration only: no s3:GetObject anywhere.
      Sid: "ReadAccessLogBucket",
      Effect: "Allow",
      Action: [
        "s3:GetAccelerateConfiguration",
        "s3:GetBucketAcl",
        "s3:GetBucketCORS",
        "s3:GetBucketLocation",
        "s3:GetBucketLogging",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketOwnershipControls",
        "s3:GetBucketPolicy",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketRequestPayment",
        "s3:GetBucketTagging",
        "s3:GetBucketVersioning",
        "s3:GetBucketWebsite",
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:ListBucket",
      ],
      Resource: `arn:aws:s3:::${scope.accessLogBucketPrefix}*`,
    },
  ];
}

/** The path itself (GetParametersByPath) and every parameter under it. */
function releaseParameterArns(scope: PolicyScope): string[] {
  const base = `arn:aws:ssm:${scope.region}:${scope.account}:parameter`;
  const path = scope.releaseParameterPath;
  return [`${base}${path.replace(/\/$/, "")}`, `${base}${path}*`];
}

/** Every repository of the target, and only those. */
function repositoryPattern(scope: PolicyScope): string {
  const names = repositoryName(scope.project, scope.target, "*");
  return `arn:aws:ecr:${scope.region}:${scope.account}:repository/${names}`;
}

/** Creating calls of the target's network; each carries the target tag (tag-on-create). */
const EC2_CREATE = [
  "ec2:AllocateAddress",
  "ec2:CreateFlowLogs",
  "ec2:CreateInternetGateway",
  "ec2:CreateNatGateway",
  "ec2:CreateRouteTable",
  "ec2:CreateSecurityGroup",
  "ec2:CreateSubnet",
  "ec2:CreateVpc",
  "ec2:CreateVpcEndpoint",
];

const EC2_MANAGE = [
  "ec2:AssociateRouteTable",
  "ec2:AttachInternetGateway",
  "ec2:AuthorizeSecurityGroupEgress",
  "ec2:AuthorizeSecurityGroupIngress",
  "ec2:CreateRoute",
  "ec2:CreateTags",
  "ec2:DeleteFlowLogs",
  "ec2:DeleteInternetGateway",
  "ec2:DeleteNatGateway",
  "ec2:DeleteRoute",
  "ec2:DeleteRouteTable",
  "ec2:DeleteSecurityGroup",
  "ec2:DeleteSubnet",
  "ec2:DeleteTags",
  "ec2:DeleteVpc",
  "ec2:DeleteVpcEndpoints",
  "ec2:DetachInternetGateway",
  "ec2:DisassociateAddress",
  "ec2:DisassociateRouteTable",
  "ec2:ModifySecurityGroupRules",
  "ec2:ModifySubnetAttribute",
  "ec2:ModifyVpcAttribute",
  "ec2:ModifyVpcEndpoint",
  "ec2:ReleaseAddress",
  "ec2:ReplaceRoute",
  "ec2:ReplaceRouteTableAssociation",
  "ec2:RevokeSecurityGroupEgress",
  "ec2:RevokeSecurityGroupIngress",
  "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
  "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
];

const ELB_CREATE = [
  "elasticloadbalancing:CreateListener",
  "elasticloadbalancing:CreateLoadBalancer",
  "elasticloadbalancing:CreateRule",
  "elasticloadbalancing:CreateTargetGroup",
];

const ELB_MANAGE = [
  "elasticloadbalancing:AddTags",
  "elasticloadbalancing:DeleteListener",
  "elasticloadbalancing:DeleteLoadBalancer",
  "elasticloadbalancing:DeleteRule",
  "elasticloadbalancing:DeleteTargetGroup",
  "elasticloadbalancing:ModifyListener",
  "elasticloadbalancing:ModifyListenerAttributes",
  "elasticloadbalancing:ModifyLoadBalancerAttributes",
  "elasticloadbalancing:ModifyRule",
  "elasticloadbalancing:ModifyTargetGroup",
  "elasticloadbalancing:ModifyTargetGroupAttributes",
  "elasticloadbalancing:RemoveTags",
  "elasticloadbalancing:SetRulePriorities",
  "elasticloadbalancing:SetSecurityGroups",
  "elasticloadbalancing:SetSubnets",
];

const ECS_CREATE = ["ecs:CreateCluster", "ecs:CreateService", "ecs:RegisterTaskDefinition"];

const ECS_MANAGE = [
  "ecs:DeleteCluster",
  "ecs:DeleteService",
  "ecs:PutClusterCapacityProviders",
  "ecs:TagResource",
  "ecs:UntagResource",
  "ecs:UpdateCluster",
  "ecs:UpdateClusterSettings",
  "ecs:UpdateService",
];
