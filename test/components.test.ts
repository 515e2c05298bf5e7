import { RecordedResource, unwrapSecrets } from "../engine/mocks";
import { runStack } from "../engine/run";
import { lifecyclePolicy } from "../components/registry";
import { containerDefinitions, CONTAINER_USER } from "../components/workload";
import { NO_RELEASE_BODY } from "../components/release";

/** Each component's behaviour, seen through what it registers for a real stack file. */

const SHA = "3f9c2ab0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6";
const props = (r: RecordedResource) => unwrapSecrets(r.inputs) as Record<string, unknown>;
const find = (rs: RecordedResource[], type: string) => rs.filter((r) => r.type === type);

describe("Network", () => {
  test("with nat `none` adds ECR, logs, STS and S3 endpoints so private tasks still pull images", async () => {
    // GIVEN the dev stack with NAT turned off
    const { resources } = await runStack({
      stack: "dev",
      overrides: { "cutover:network": { cidr: "10.10.0.0/16", availabilityZones: 2, nat: "none" } },
    });
    // THEN the VPC has no NAT and the endpoints exist
    const vpc = props(find(resources, "awsx:ec2:Vpc")[0]);
    expect(vpc.natGateways).toEqual({ strategy: "None" });
    const endpoints = find(resources, "aws:ec2/vpcEndpoint:VpcEndpoint").map(props);
    expect(
      endpoints.map((e) => String(e.serviceName).split(".").slice(3).join(".")).sort(),
    ).toEqual(["ecr.api", "ecr.dkr", "logs", "s3", "sts"]);
    const sg = find(resources, "aws:ec2/securityGroup:SecurityGroup").find(
      (s) => s.name === "network-endpoints-sg",
    )!;
    expect((props(sg).ingress as { cidrBlocks: string[] }[])[0].cidrBlocks).toEqual([
      "10.10.0.0/16",
    ]);
  });

  test("with a NAT gateway adds no endpoints, closes the default group and logs flows", async () => {
    const { resources } = await runStack({ stack: "dev" });
    expect(find(resources, "aws:ec2/vpcEndpoint:VpcEndpoint")).toEqual([]);
    const [defaultSg] = find(resources, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").map(
      props,
    );
    expect(defaultSg).toMatchObject({ ingress: [], egress: [] });
    const [flowLog] = find(resources, "aws:ec2/flowLog:FlowLog").map(props);
    expect(flowLog).toMatchObject({ trafficType: "ALL", logDestinationType: "cloud-watch-logs" });
    const subnets = props(find(resources, "awsx:ec2:Vpc")[0]).subnetSpecs as {
      type: string;
      cidrMask: number;
    }[];
    expect(subnets).toEqual([
      { type: "Private", cidrMask: 20 },
      { type: "Public", cidrMask: 21 },
    ]);
  });
});

test("adding an availability zone later leaves every existing subnet where it is", async () => {
  // GIVEN dev on two AZs; WHEN it grows to three
  const vpcOf = async (availabilityZones: number) => {
    const { resources } = await runStack({
      stack: "dev",
      overrides: { "cutover:network": { cidr: "10.10.0.0/16", availabilityZones, nat: "single" } },
    });
    return props(find(resources, "awsx:ec2:Vpc")[0]);
  };
  const two = await vpcOf(2);
  const three = await vpcOf(3);
  // THEN the layout (AZ block and subnet sizes) is the same, so the new AZ's subnets are appended
  expect(three.numberOfAvailabilityZones).toBe(3);
  expect(three.availabilityZoneCidrMask).toBe(two.availabilityZoneCidrMask);
  expect(three.subnetSpecs).toEqual(two.subnetSpecs);
});

describe("Registry", () => {
  test("keeps SHA tags immutable, scans on push and encrypts with KMS", async () => {
    const { resources } = await runStack({ stack: "prod" });
    const repos = find(resources, "aws:ecr/repository:Repository").map(props);
    expect(repos.map((r) => r.name).sort()).toEqual(["cutover/prod/api", "cutover/prod/web"]);
    for (const repo of repos) {
      expect(repo.imageTagMutability).toBe("IMMUTABLE");
      expect(repo.imageScanningConfiguration).toEqual({ scanOnPush: true });
      expect(repo.encryptionConfigurations).toEqual([{ encryptionType: "KMS" }]);
      // prod keeps its images on destroy; dev (below) lets teardown delete them.
      expect(repo.forceDelete).toBe(false);
    }
    const dev = await runStack({ stack: "dev" });
    for (const repo of find(dev.resources, "aws:ecr/repository:Repository").map(props)) {
      expect(repo.forceDelete).toBe(true);
    }
  });

  test("never expires a deployed version's image; expires untagged ones and old SHA tags", () => {
    const policy = JSON.parse(lifecyclePolicy(100));
    // ECR evaluates rules in priority order, and an image whose tags an earlier rule matches
    // cannot be expired by a later one: the deployed-image rule must come first.
    expect(policy.rules[0].selection.tagPatternList).toEqual(["deployed-*"]);
    expect(policy.rules.map((r: { rulePriority: number }) => r.rulePriority)).toEqual([1, 2, 3]);
    expect(policy).toMatchSnapshot();
  });
});

describe("Workload (one version)", () => {
  test("runs the SHA's image as a non-root user on a read-only root filesystem", () => {
    const doc = JSON.parse(
      containerDefinitions({
        service: {
          name: "api",
          port: 8080,
          healthCheckPath: "/health",
          cpu: 256,
          memory: 512,
          desiredCount: 2,
          alarms: { errorRatePercent: 5, p95LatencyMs: 1000 },
          environment: { LOG_LEVEL: "info" },
        },
        image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/cutover/stage/api:${SHA}`,
        sha: SHA,
        target: "stage",
        region: "eu-west-1",
        logGroupName: "/cutover/stage/api",
      }),
    );
    expect(doc[0].user).toBe(CONTAINER_USER);
    expect(doc[0].user).not.toMatch(/^(0|root)(:|$)/);
    expect(doc[0].readonlyRootFilesystem).toBe(true);
    expect(doc[0].privileged).toBeUndefined();
    expect(doc).toMatchSnapshot();
  });

  test("gives each version a target group that drains in 30 s and checks the service's path", async () => {
    const { resources } = await runStack({
      stack: "stage",
      overrides: { "cutover:releases": { api: { versions: [SHA], live: SHA } } },
    });
    const [tg] = find(resources, "aws:lb/targetGroup:TargetGroup").map(props);
    expect(tg.name).toMatch(/^stage-api-3f9c2ab-[0-9a-f]{4}$/);
    expect(tg).toMatchObject({
      targetType: "ip",
      deregistrationDelay: 30,
    });
    expect(tg.healthCheck).toMatchObject({ path: "/health" });
    const [task] = find(resources, "aws:ecs/taskDefinition:TaskDefinition").map(props);
    expect(task).toMatchObject({
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
    });
    expect(task.executionRoleArn).not.toBe(task.taskRoleArn);
    const image = JSON.parse(String(task.containerDefinitions))[0].image;
    expect(image).toBe(`123456789012.dkr.ecr.eu-west-1.amazonaws.com/cutover/stage/api:${SHA}`);
    const alarms = find(resources, "aws:cloudwatch/metricAlarm:MetricAlarm").map(props);
    expect(alarms.map((a) => a.name).sort()).toEqual([
      "cutover-stage-api-3f9c2ab-5xx-rate",
      "cutover-stage-api-3f9c2ab-p95-latency",
    ]);
  });
});

describe("LiveRule", () => {
  test("answers 503 'no release yet' before the first release, so a fresh `up` needs no image", async () => {
    const { resources } = await runStack({ stack: "dev" });
    const rules = find(resources, "aws:lb/listenerRule:ListenerRule").map(props);
    expect(rules).toHaveLength(2);
    for (const rule of rules) {
      expect(rule.actions).toEqual([
        {
          type: "fixed-response",
          fixedResponse: {
            contentType: "text/plain",
            statusCode: "503",
            messageBody: NO_RELEASE_BODY,
          },
        },
      ]);
    }
    expect(find(resources, "aws:ecs/service:Service")).toEqual([]);
  });

  test("forwards the live host to the live version's target group only", async () => {
    const other = "9d1e0f4aa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6";
    const { resources } = await runStack({
      stack: "stage",
      overrides: { "cutover:releases": { api: { versions: [SHA, other], live: other } } },
    });
    const tgArn = (short: string) =>
      find(resources, "aws:lb/targetGroup:TargetGroup").find(
        (t) => t.name === `svc-api-${short}-tg`,
      )!.state.arn;
    const live = props(resources.find((r) => r.name === "svc-api-live-rule")!);
    expect(live.conditions).toEqual([{ hostHeader: { values: ["api.stage.example.com"] } }]);
    const groups = (
      live.actions as { forward: { targetGroups: { arn: string; weight: number }[] } }[]
    )[0].forward.targetGroups;
    expect(groups).toEqual([{ arn: tgArn("9d1e0f4"), weight: 100 }]);
  });
});

describe("Notifications", () => {
  test("encrypts the alarm topic with a key CloudWatch may use, not the AWS-managed SNS key", async () => {
    const { resources } = await runStack({ stack: "prod" });
    const [topic] = find(resources, "aws:sns/topic:Topic").map(props);
    expect(topic.kmsMasterKeyId).not.toBe("alias/aws/sns");
    const [key] = find(resources, "aws:kms/key:Key").map(props);
    const policy = JSON.parse(String(key.policy));
    const cw = policy.Statement.find(
      (s: { Principal: { Service?: string } }) =>
        s.Principal.Service === "cloudwatch.amazonaws.com",
    );
    expect(cw.Action).toEqual(["kms:Decrypt", "kms:GenerateDataKey*"]);
    expect(
      find(resources, "aws:sns/topicSubscription:TopicSubscription").map((r) => props(r).endpoint),
    ).toEqual(["oncall@example.com"]);
  });
});
