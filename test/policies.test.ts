import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RecordedResource } from "../engine/mocks";
import {
  allPolicies,
  evaluatePolicies,
  PolicyConfig,
  readPolicyConfig,
  Verdict,
} from "../policies/evaluate";
import {
  albSecurityGroup,
  awsProvider,
  DEV,
  goodLoadBalancer,
  goodRepository,
  goodTaskDefinition,
  secret,
} from "./fixtures/policies/builders";
import { CASES } from "./fixtures/policies/cases";

/**
 * The cutover CrossGuard pack: every policy against its passing and failing fixtures, and the
 * CrossGuard enforcement-level configuration. The real stack files: policies.stacks.test.ts.
 */

const FIXTURES = path.join(__dirname, "fixtures", "policies");
const of = (verdicts: Verdict[], policy: string) => verdicts.filter((v) => v.policy === policy);

describe("the policy pack", () => {
  test("has passing and failing fixtures for every policy, and none for a policy it lacks", () => {
    // GIVEN the policies the pack serves and the fixture table
    const names = allPolicies.map((p) => p.name).sort();
    // THEN both name the same policies, and each has at least one case of each kind
    expect(Object.keys(CASES).sort()).toEqual(names);
    for (const name of names) {
      expect({ name, pass: CASES[name].pass.length > 0 }).toEqual({ name, pass: true });
      expect({ name, fail: CASES[name].fail.length > 0 }).toEqual({ name, fail: true });
    }
  });

  test("names each policy once, never `all`, and states its control id in the description", () => {
    const names = allPolicies.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).not.toContain("all");
    for (const p of allPolicies) {
      // e.g. "ECR.1 / CKV_AWS_163: …", "CUTOVER-ECS-CB: …", "CUTOVER-ECS-USER (cf. ECS.1): …"
      expect({ name: p.name, description: p.description }).toEqual({
        name: p.name,
        description: expect.stringMatching(/^[A-Z][A-Z0-9]*[._-][A-Z0-9_.-]+\b[^:]*: \S/),
      });
    }
  });

  test("declares no `enforcementLevel` in a config schema (CrossGuard refuses the pack)", () => {
    for (const p of allPolicies) {
      expect(Object.keys(p.configSchema?.properties ?? {})).not.toContain("enforcementLevel");
    }
  });
});

describe.each(allPolicies.map((p) => [p.name]))("policy %s", (name) => {
  const cases = CASES[name] ?? { pass: [], fail: [] };

  test.each(cases.pass.map((c) => [c.given, c]))("passes %s", (_given, c) => {
    // GIVEN resources that keep the rule
    // WHEN the pack evaluates them
    const verdicts = of(evaluatePolicies(c.resources, c.config), name);
    // THEN the policy reports nothing
    expect(verdicts).toEqual([]);
  });

  test.each(cases.fail.map((c) => [c.given, c]))("reports when %s", (_given, c) => {
    // GIVEN resources that break the rule in one way
    // WHEN the pack evaluates them
    const verdicts = of(evaluatePolicies(c.resources, c.config), name);
    // THEN the policy reports it, on a resource of the fixture, with a message that says why
    expect(verdicts.length).toBeGreaterThan(0);
    for (const v of verdicts) {
      expect(v.message).toMatch(c.message);
      expect(c.resources.map((r) => r.urn)).toContain(v.urn);
    }
  });
});

describe("enforcement levels", () => {
  const unscanned = [DEV, goodRepository({ imageScanningConfiguration: undefined })];
  const bigDevTask = [DEV, goodTaskDefinition({}, { cpu: "4096", memory: "8192" })];

  test("reports security rules as mandatory and cost rules as advisory by default", () => {
    expect(of(evaluatePolicies(unscanned), "ecr-scan-on-push")[0].enforcementLevel).toBe(
      "mandatory",
    );
    expect(of(evaluatePolicies(bigDevTask), "cost-fargate-size-dev")[0].enforcementLevel).toBe(
      "advisory",
    );
  });

  test("downgrades one policy to advisory with a level string", () => {
    // GIVEN the CrossGuard config form `{ "<policy>": "<level>" }`
    const verdicts = evaluatePolicies(unscanned, { "ecr-scan-on-push": "advisory" });
    // THEN only that policy changes level
    expect(of(verdicts, "ecr-scan-on-push").map((v) => v.enforcementLevel)).toEqual(["advisory"]);
  });

  test("disables one policy with `{ enforcementLevel: disabled }` and keeps the others", () => {
    const repo = goodRepository({
      imageScanningConfiguration: undefined,
      imageTagMutability: "MUTABLE",
    });
    const verdicts = evaluatePolicies([DEV, repo], {
      "ecr-scan-on-push": { enforcementLevel: "disabled" },
    });
    expect(of(verdicts, "ecr-scan-on-push")).toEqual([]);
    expect(of(verdicts, "ecr-immutable-tags")).toHaveLength(1);
  });

  test("sets every policy's level with `all`, and a policy's own entry wins over `all`", () => {
    const repo = goodRepository({
      imageScanningConfiguration: undefined,
      imageTagMutability: "MUTABLE",
    });
    const verdicts = evaluatePolicies([DEV, repo], {
      all: "advisory",
      "ecr-immutable-tags": "mandatory",
    });
    expect(of(verdicts, "ecr-scan-on-push")[0].enforcementLevel).toBe("advisory");
    expect(of(verdicts, "ecr-immutable-tags")[0].enforcementLevel).toBe("mandatory");
    expect(evaluatePolicies([DEV, repo], { all: "disabled" })).toEqual([]);
  });

  test("promotes an advisory cost rule to mandatory", () => {
    const verdicts = evaluatePolicies(bigDevTask, { "cost-fargate-size-dev": "mandatory" });
    expect(of(verdicts, "cost-fargate-size-dev")[0].enforcementLevel).toBe("mandatory");
  });

  test("refuses config that names no policy of the pack or no level, instead of ignoring it", () => {
    expect(() => evaluatePolicies(unscanned, { "ecr-scan-on-pus": "advisory" })).toThrow(
      /`ecr-scan-on-pus`, which is not a policy/,
    );
    const bad = { "ecr-scan-on-push": "off" } as unknown as PolicyConfig;
    expect(() => evaluatePolicies(unscanned, bad)).toThrow(/level "off"/);
  });

  test("reads a CrossGuard policy config file with both entry forms", () => {
    // GIVEN the checked-in example config
    const config = readPolicyConfig(path.join(FIXTURES, "policy-config.json"));
    // WHEN it is applied
    const verdicts = evaluatePolicies([...unscanned, ...bigDevTask.slice(1)], config);
    // THEN its levels hold
    expect(config).toEqual({
      "ecr-scan-on-push": "advisory",
      "cost-fargate-size-dev": { enforcementLevel: "disabled" },
    });
    expect(of(verdicts, "ecr-scan-on-push")[0].enforcementLevel).toBe("advisory");
    expect(of(verdicts, "cost-fargate-size-dev")).toEqual([]);
  });

  test("refuses a config file with a level the pack does not have", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "policy-config-")), "c.json");
    fs.writeFileSync(
      file,
      JSON.stringify({ "ecr-scan-on-push": { enforcementLevel: "remediate" } }),
    );
    expect(() => readPolicyConfig(file)).toThrow(/"remediate".*no remediations/);
    fs.writeFileSync(file, "[]");
    expect(() => readPolicyConfig(file)).toThrow(/must be an object/);
  });
});

describe("the offline harness", () => {
  test("reads secret inputs as their values", () => {
    // GIVEN a repository whose settings arrive wrapped as secrets
    const repo = goodRepository({
      imageTagMutability: secret("MUTABLE"),
      imageScanningConfiguration: secret({ scanOnPush: true }),
    });
    const verdicts = evaluatePolicies([DEV, repo]);
    // THEN the rules see the values
    expect(of(verdicts, "ecr-immutable-tags")).toHaveLength(1);
    expect(of(verdicts, "ecr-scan-on-push")).toEqual([]);
  });

  test("names the resource a stack policy reports on", () => {
    const sg = albSecurityGroup({}, "tasks-sg");
    const [v] = of(evaluatePolicies([DEV, sg]), "sg-public-ingress-only-on-load-balancer");
    expect(v).toMatchObject({
      urn: sg.urn,
      type: "aws:ec2/securityGroup:SecurityGroup",
      name: "tasks-sg",
      enforcementLevel: "mandatory",
      description: expect.stringContaining("EC2.18"),
    });
  });

  test("gives a resource its provider's inputs, so defaultTags decide the target", () => {
    // GIVEN the same load balancer without deletion protection on a dev and a prod provider
    const prod = awsProvider("prod", "aws-prod");
    const lb = (p: RecordedResource) => goodLoadBalancer({ enableDeletionProtection: false }, p);
    // THEN only the prod one is reported
    expect(of(evaluatePolicies([DEV, lb(DEV)]), "elb-deletion-protection-prod")).toEqual([]);
    expect(of(evaluatePolicies([prod, lb(prod)]), "elb-deletion-protection-prod")).toHaveLength(1);
  });
});
