import { RecordedResource, unwrapSecrets } from "../engine/mocks";
import { runStack } from "../engine/run";
import { syntheticServices } from "../engine/synthetic";
import { TARGET_TAG } from "../components/tags";
import { LIMITS } from "../components/naming";

/**
 * Each real stack file, run through index.ts under the offline engine, with a release deployed,
 * and invariants every resource must keep. A stack file that does not plan is a broken product.
 */

const STACKS = ["dev", "stage", "prod"] as const;
const SHA = "3f9c2ab0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6";
const NEXT = "9d1e0f4aa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6";

const runs: Record<string, { resources: RecordedResource[]; outputs: Record<string, unknown> }> =
  {};

beforeAll(async () => {
  for (const stack of STACKS) {
    const release = JSON.stringify({ versions: [SHA, NEXT], live: { [SHA]: 90, [NEXT]: 10 } });
    runs[stack] = await runStack({
      stack,
      parameters: {
        [`/cutover/${stack}/releases/api`]: release,
        [`/cutover/${stack}/releases/web`]: JSON.stringify({ versions: [SHA], live: SHA }),
      },
    });
  }
});

const ofType = (stack: string, type: string) =>
  runs[stack].resources.filter((r) => r.type === type);
const props = (r: RecordedResource) => unwrapSecrets(r.inputs) as Record<string, unknown>;

describe.each(STACKS)("the %s stack file", (stack) => {
  test("plans through index.ts and exports the platform's outputs", () => {
    const out = runs[stack].outputs;
    expect(out.target).toBe(stack);
    expect(out.vpcId).toMatch(/^vpc-/);
    expect(out.albDnsName).toMatch(/elb\.amazonaws\.com$/);
    expect(Object.keys(out.repositoryUrls as object).sort()).toEqual(["api", "web"]);
    expect(out.clusterName).toBeTruthy();
  });

  test("names every child after its component (`<parent>-<role>`)", () => {
    const byUrn = new Map(runs[stack].resources.map((r) => [r.urn, r]));
    for (const r of runs[stack].resources) {
      if (!r.parent) continue;
      const parent = byUrn.get(r.parent)!;
      expect(`${r.name}`.startsWith(`${parent.name}-`)).toBe(true);
    }
  });

  test("creates every AWS resource with the target's provider and its target tag", () => {
    const providers = ofType(stack, "pulumi:providers:aws");
    expect(providers).toHaveLength(1);
    // Provider inputs carry nested objects as JSON text, as in real state.
    const tags = JSON.parse(String(props(providers[0]).defaultTags)).tags;
    expect(tags).toMatchObject({
      [TARGET_TAG]: stack,
      "cutover:project": "cutover",
      "managed-by": "pulumi",
    });
    const providerRef = (ref?: string) => ref?.split("::").slice(0, -1).join("::");
    for (const r of runs[stack].resources.filter((x) => x.custom && x.type.startsWith("aws:"))) {
      expect(providerRef(r.provider)).toBe(providers[0].urn);
    }
  });

  test("opens 0.0.0.0/0 or ::/0 only to the ALB on 80 and 443, and lets tasks out on 443 only", () => {
    const world = (rule: Record<string, unknown>) =>
      ((rule.cidrBlocks as string[]) ?? []).includes("0.0.0.0/0") ||
      ((rule.ipv6CidrBlocks as string[]) ?? []).includes("::/0");
    for (const sg of ofType(stack, "aws:ec2/securityGroup:SecurityGroup")) {
      const p = props(sg);
      for (const rule of (p.ingress as Record<string, unknown>[]) ?? []) {
        if (!world(rule)) continue;
        expect(sg.name).toBe("edge-sg");
        expect([80, 443]).toContain(rule.fromPort);
        expect(rule.toPort).toBe(rule.fromPort);
      }
      for (const rule of (p.egress as Record<string, unknown>[]) ?? []) {
        if (!world(rule)) continue;
        expect(sg.name).toBe("ecs-tasks-sg");
        expect([rule.fromPort, rule.toPort]).toEqual([443, 443]);
      }
    }
  });

  test("accepts task traffic only from the load balancer's security group", () => {
    const [tasks] = ofType(stack, "aws:ec2/securityGroup:SecurityGroup").filter(
      (s) => s.name === "ecs-tasks-sg",
    );
    const [alb] = ofType(stack, "aws:ec2/securityGroup:SecurityGroup").filter(
      (s) => s.name === "edge-sg",
    );
    const ingress = props(tasks).ingress as Record<string, unknown>[];
    expect(ingress.map((r) => r.fromPort).sort()).toEqual([3000, 8080]);
    for (const rule of ingress) {
      expect(rule.securityGroups).toEqual([alb.id]);
      expect(rule.cidrBlocks).toBeUndefined();
    }
  });

  test("serves HTTPS with a TLS 1.3 policy and only redirects HTTP", () => {
    const listeners = ofType(stack, "aws:lb/listener:Listener").map(props);
    const http = listeners.find((l) => l.protocol === "HTTP")!;
    const https = listeners.find((l) => l.protocol === "HTTPS")!;
    expect(listeners).toHaveLength(2);
    expect(http.defaultActions).toEqual([
      { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
    ]);
    expect(https.sslPolicy).toMatch(/TLS13/);
    expect(
      (https.defaultActions as { type: string; fixedResponse: { statusCode: string } }[])[0],
    ).toMatchObject({
      type: "fixed-response",
      fixedResponse: { statusCode: "404" },
    });
  });

  test("the load balancer drops invalid headers, logs access, and is protected in prod only", () => {
    const [lb] = ofType(stack, "aws:lb/loadBalancer:LoadBalancer").map(props);
    expect(lb.dropInvalidHeaderFields).toBe(true);
    expect((lb.accessLogs as { enabled: boolean }).enabled).toBe(true);
    expect(lb.enableDeletionProtection).toBe(stack === "prod");
    expect(String(lb.name).length).toBeLessThanOrEqual(LIMITS.loadBalancer);
  });

  test("validates the wildcard certificate with exactly one DNS record", () => {
    const [cert] = ofType(stack, "aws:acm/certificate:Certificate").map(props);
    expect(cert.domainName).toBe(`${stack}.example.com`);
    expect(cert.subjectAlternativeNames).toEqual([`*.${stack}.example.com`]);
    const records = ofType(stack, "aws:route53/record:Record").map(props);
    expect(records.filter((r) => r.type === "CNAME")).toHaveLength(1);
    const wildcard = records.filter((r) => r.name === `*.${stack}.example.com`);
    expect(wildcard).toHaveLength(1);
    expect(wildcard[0].type).toBe("A");
  });

  test("keeps AWS physical names within their limits", () => {
    for (const tg of ofType(stack, "aws:lb/targetGroup:TargetGroup").map(props)) {
      expect(String(tg.name).length).toBeLessThanOrEqual(LIMITS.targetGroup);
      expect(tg.name).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
    }
    for (const role of ofType(stack, "aws:iam/role:Role").map(props)) {
      if (role.name !== undefined)
        expect(String(role.name).length).toBeLessThanOrEqual(LIMITS.iamRole);
    }
  });

  test("gives every listener rule a distinct priority", () => {
    const priorities = ofType(stack, "aws:lb/listenerRule:ListenerRule").map(
      (r) => props(r).priority as number,
    );
    expect(priorities.length).toBe(2 + 3); // two live rules, three versions
    expect(new Set(priorities).size).toBe(priorities.length);
    for (const p of priorities) {
      expect(p).toBeGreaterThanOrEqual(1);
      expect(p).toBeLessThanOrEqual(50000);
    }
  });

  test("routes each version's host and splits the live host per the release state", () => {
    const services = runs[stack].outputs.services as Record<
      string,
      {
        liveHost: string;
        live: { sha: string; weight: number }[];
        versions: Record<string, { host: string }>;
      }
    >;
    expect(services.api.liveHost).toBe(`api.${stack}.example.com`);
    expect(services.api.live).toEqual([
      { sha: SHA, weight: 90 },
      { sha: NEXT, weight: 10 },
    ]);
    expect(services.api.versions[SHA].host).toBe(`api-3f9c2ab.${stack}.example.com`);
    expect(services.web.versions[SHA].host).toBe(`web-3f9c2ab.${stack}.example.com`);
  });

  test("runs tasks in private subnets without public IPs, with a circuit breaker", () => {
    const services = ofType(stack, "aws:ecs/service:Service").map(props);
    expect(services).toHaveLength(3);
    for (const s of services) {
      const net = s.networkConfiguration as { assignPublicIp: boolean; subnets: string[] };
      expect(net.assignPublicIp).toBe(false);
      expect(net.subnets.every((id) => id.startsWith("subnet-private"))).toBe(true);
      expect(s.deploymentCircuitBreaker).toEqual({ enable: true, rollback: true });
      expect(s.deploymentMinimumHealthyPercent).toBe(100);
    }
  });
});

test("stacks differ where the targets should: NAT, task counts, retention", () => {
  const nat = (stack: string) =>
    (ofType(stack, "awsx:ec2:Vpc").map(props)[0].natGateways as { strategy: string }).strategy;
  expect(nat("dev")).toBe("Single");
  expect(nat("prod")).toBe("OnePerAz");
  const counts = (stack: string) =>
    ofType(stack, "aws:ecs/service:Service").map((s) => props(s).desiredCount as number);
  expect(Math.min(...counts("prod"))).toBeGreaterThanOrEqual(2);
  expect(Math.max(...counts("dev"))).toBe(1);
});

test("a target with 5 services × 2 versions plans, every host with its own rule and target group", async () => {
  // GIVEN the prod stack file with five services, each running two versions
  // WHEN it is planned
  const { resources } = await runStack({ stack: "prod", overrides: syntheticServices(5, 2) });
  // THEN 10 versions, 15 rules (5 live + 10 version hosts), all priorities distinct
  const rules = resources.filter((r) => r.type === "aws:lb/listenerRule:ListenerRule").map(props);
  expect(resources.filter((r) => r.type === "aws:lb/targetGroup:TargetGroup")).toHaveLength(10);
  expect(rules).toHaveLength(15);
  expect(new Set(rules.map((r) => r.priority)).size).toBe(15);
  const hosts = rules.flatMap(
    (r) => (r.conditions as { hostHeader: { values: string[] } }[])[0].hostHeader.values,
  );
  expect(new Set(hosts).size).toBe(15);
});
