import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { defaultRuleBlock, livePriority, versionPriority } from "../components/routing";
import { ConfigError } from "../config";
import { estimateCost } from "../engine/cost";
import { RecordedResource } from "../engine/mocks";
import { planStack } from "../engine/plan";
import {
  buildPlanReport,
  mermaidLabel,
  PlanReport,
  renderJson,
  renderMarkdown,
  renderMermaid,
  renderText,
  TreeNode,
} from "../engine/plan-report";
import { PROJECT_DIR, runStack, RunResult } from "../engine/run";
import { evaluatePolicies, Verdict } from "../policies/evaluate";
import { parseReleaseState } from "../release/state";

/**
 * The offline plan (`npm run plan`): its report of each real stack, the routing table, the cost
 * estimate, the markdown and Mermaid output, and how the command fails.
 */

const OLD = "3f9c2ab1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7";
const NEW = "9d1e0f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e";
const CANARY = { api: { versions: [OLD, NEW], live: { [OLD]: 90, [NEW]: 10 } } };

/** Runs a stack once and builds its report with the real policy pack. */
async function plan(
  stack: string,
  overrides?: Record<string, unknown>,
): Promise<{ run: RunResult; report: PlanReport }> {
  const run = await runStack({ stack, overrides });
  const report = buildPlanReport({
    stack,
    resources: run.resources,
    outputs: run.outputs,
    verdicts: evaluatePolicies(run.resources),
  });
  return { run, report };
}

function flatten(nodes: readonly TreeNode[]): TreeNode[] {
  return nodes.flatMap((n) => [n, ...flatten(n.children)]);
}

const runs: Record<string, { run: RunResult; report: PlanReport }> = {};

beforeAll(async () => {
  for (const stack of ["dev", "stage", "prod"]) runs[stack] = await plan(stack);
  runs.canary = await plan("dev", { "cutover:releases": CANARY });
});

describe("the plan of a real stack", () => {
  test.each(["dev", "stage", "prod"])(
    "%s plans with no mandatory violation and counts every resource the engine recorded",
    (stack) => {
      // GIVEN the stack file run under the offline engine
      const { run, report } = runs[stack];
      // WHEN the report is built
      const text = renderText(report);
      // THEN its total is the engine's, and its tree holds each recorded resource exactly once
      expect(report.resources.total).toBe(run.resources.length);
      expect(text).toContain(`Resources: ${run.resources.length} `);
      const inTree = flatten(report.resources.tree).map((n) => n.urn);
      expect(inTree.sort()).toEqual(run.resources.map((r) => r.urn).sort());
      expect(report.policies.mandatory).toEqual([]);
      expect(report.exitCode).toBe(0);
    },
  );

  test("counts each component's resources at any depth", () => {
    // GIVEN the prod tree
    const { report } = runs.prod;
    // THEN a service counts its log group, task role, live-rule component and the rule inside it
    const api = report.resources.components.find((c) => c.name === "svc-api")!;
    expect(api).toMatchObject({ type: "cutover:service:Service", depth: 0, resources: 4 });
    const live = report.resources.components.find((c) => c.name === "svc-api-live")!;
    expect(live).toMatchObject({ type: "cutover:service:LiveRule", depth: 1, resources: 1 });
  });
});

describe("the routing table", () => {
  test("shows a live host as 503 no release yet before the first release", () => {
    // GIVEN dev with no release state
    const { report } = runs.dev;
    // THEN each live host forwards nowhere and answers 503, at its service's live priority
    const api = report.routing.find((r) => r.host === "api.dev.example.com")!;
    expect(api).toMatchObject({
      kind: "live",
      targets: [],
      fixedResponse: "503 no release yet",
      priority: livePriority(defaultRuleBlock("api")),
    });
    expect(renderText(report)).toMatch(/api\.dev\.example\.com\s+api\s+-\s+-\s+503 no release yet/);
  });

  test("shows a pinned canary's weights on the live host and on each version's host", () => {
    // GIVEN dev with api pinned to a 90/10 canary of two versions
    const { report } = runs.canary;
    const rows = report.routing.filter((r) => r.service === "api");
    const block = defaultRuleBlock("api");
    const slot = (sha: string) =>
      parseReleaseState(CANARY.api, "api").state!.versions.find((v) => v.sha === sha)!.slot;
    // THEN the live host splits 90/10 by short SHA; each version host takes all of its own traffic
    expect(rows).toEqual([
      expect.objectContaining({
        host: "api.dev.example.com",
        priority: livePriority(block),
        targets: [
          { sha: OLD, version: "3f9c2ab", weight: 90 },
          { sha: NEW, version: "9d1e0f4", weight: 10 },
        ],
      }),
      expect.objectContaining({
        host: "api-3f9c2ab.dev.example.com",
        priority: versionPriority(block, slot(OLD)),
        liveWeight: 90,
        ecsService: "api-3f9c2ab",
      }),
      expect.objectContaining({
        host: "api-9d1e0f4.dev.example.com",
        priority: versionPriority(block, slot(NEW)),
        liveWeight: 10,
      }),
    ]);
    const text = renderText(report);
    expect(text).toMatch(/api\.dev\.example\.com\s+api\s+3f9c2ab\s+90%\s+live\s+\d+/);
    expect(text).toMatch(/^\s+9d1e0f4\s+10%\s+live$/m);
    expect(text).toMatch(/api-9d1e0f4\.dev\.example\.com\s+api\s+9d1e0f4\s+100%\s+live 10%/);
  });
});

describe("the cost estimate", () => {
  const total = (r: PlanReport) => (r.cost.available ? r.cost.totalMonthlyUsd : NaN);
  const line = (r: PlanReport, item: string) =>
    r.cost.available ? r.cost.lines.find((l) => l.item === item) : undefined;

  test("prices prod's NAT gateway per AZ above dev's single one", () => {
    // GIVEN dev (single NAT, 2 AZs) and prod (NAT per AZ, 3 AZs), both without releases
    // THEN prod costs more, and the NAT line shows why
    expect(total(runs.prod.report)).toBeGreaterThan(total(runs.dev.report));
    expect(line(runs.dev.report, "NAT gateways")?.quantity).toMatch(/^1 × 730 h/);
    expect(line(runs.prod.report, "NAT gateways")?.quantity).toMatch(/^3 × 730 h/);
  });

  test("rises with the NAT mode of the same target: perAz above single above none", async () => {
    // GIVEN dev planned with each NAT mode (single is dev's own)
    const network = (nat: string) => ({
      "cutover:network": { cidr: "10.10.0.0/16", availabilityZones: 2, nat },
    });
    // (one at a time: the Pulumi runtime runs one program per process at once)
    const none = (await plan("dev", network("none"))).report;
    const single = runs.dev.report; // dev's own mode
    const perAz = (await plan("dev", network("perAz"))).report;
    // THEN perAz > single; none has no NAT but pays for interface endpoints per AZ instead
    expect(total(perAz)).toBeGreaterThan(total(single));
    expect(line(none, "NAT gateways")).toBeUndefined();
    expect(line(none, "Interface VPC endpoints")?.quantity).toBe(
      "4 endpoints, 8 AZ-attachments × 730 h",
    );
  });

  test("scales the Fargate line with each service's desired count", async () => {
    // GIVEN the canary (api: 1 task per version in dev) and the same with 3 tasks per version
    const services = readServices("dev");
    services.api = { ...services.api, desiredCount: 3 };
    const { report } = await plan("dev", {
      "cutover:releases": CANARY,
      "cutover:services": services,
    });
    // THEN each version's Fargate line triples, and so do the task-driven lines
    const one = line(runs.canary.report, "Fargate api-3f9c2ab")!;
    const three = line(report, "Fargate api-3f9c2ab")!;
    expect(three.monthlyUsd).toBeCloseTo(one.monthlyUsd * 3, 1);
    expect(total(report)).toBeGreaterThan(total(runs.canary.report));
  });

  test("says the estimate is unavailable for a region without prices instead of guessing", () => {
    // GIVEN the dev resources priced for a region the table does not have
    const cost = estimateCost(runs.dev.run.resources, "ap-south-2");
    // THEN there is no number, and the reason names the region
    expect(cost).toEqual({
      available: false,
      region: "ap-south-2",
      reason: expect.stringContaining("no prices for ap-south-2"),
    });
    const report = { ...runs.dev.report, cost };
    expect(renderText(report)).toContain(
      "Estimated monthly cost: unavailable for region ap-south-2",
    );
  });

  test("prices an ARM task below the same x86 task", () => {
    // GIVEN one Fargate service of 2 tasks, 1 vCPU / 2 GB, on each architecture
    const fargate = (arch: string): RecordedResource[] => [
      resource(
        "aws:ecs/taskDefinition:TaskDefinition",
        "td",
        {
          cpu: "1024",
          memory: "2048",
          runtimePlatform: { cpuArchitecture: arch },
        },
        { arn: "td-arn" },
      ),
      resource("aws:ecs/service:Service", "svc", {
        name: "svc",
        launchType: "FARGATE",
        desiredCount: 2,
        taskDefinition: "td-arn",
      }),
    ];
    const x86 = estimateCost(fargate("X86_64"), "us-east-1");
    const arm = estimateCost(fargate("ARM64"), "us-east-1");
    // THEN both are priced from us-east-1's Fargate rates, ARM lower
    if (!x86.available || !arm.available) throw new Error("us-east-1 has prices");
    expect(x86.lines[0].monthlyUsd).toBeCloseTo(2 * 730 * (0.04048 + 2 * 0.004445), 2);
    expect(arm.lines[0].monthlyUsd).toBeLessThan(x86.lines[0].monthlyUsd);
  });

  test("prices an EKS control plane when the program has a cluster", () => {
    // GIVEN a recorded EKS cluster component in eu-west-1
    const cost = estimateCost([resource("eks:index:Cluster", "eks", {})], "eu-west-1");
    // THEN the control plane is billed per hour, all month
    expect(cost.available && cost.lines).toEqual([
      expect.objectContaining({ item: "EKS control plane", monthlyUsd: 0.1 * 730 }),
    ]);
  });
});

describe("policy verdicts in the report", () => {
  const verdict = (level: "mandatory" | "advisory", policy: string): Verdict => ({
    policy,
    description: `${policy} description`,
    enforcementLevel: level,
    message: `${policy} | says <no>`,
    urn: runs.dev.run.resources[1].urn,
    type: runs.dev.run.resources[1].type,
    name: runs.dev.run.resources[1].name,
  });

  test("fails the plan on a mandatory violation and lists it before advisory warnings", () => {
    // GIVEN dev's resources with one mandatory and one advisory verdict
    const report = buildPlanReport({
      stack: "dev",
      resources: runs.dev.run.resources,
      outputs: runs.dev.run.outputs,
      verdicts: [verdict("advisory", "soft-rule"), verdict("mandatory", "hard-rule")],
    });
    // THEN the plan exits 1 and every format shows both, mandatory first
    expect(report.exitCode).toBe(1);
    const text = renderText(report);
    expect(text.indexOf("MANDATORY  hard-rule")).toBeGreaterThan(0);
    expect(text.indexOf("advisory   soft-rule")).toBeGreaterThan(text.indexOf("hard-rule"));
    expect(text).toContain("Plan failed: 1 mandatory policy violation(s).");
    const md = renderMarkdown(report);
    expect(md).toContain("| ❌ mandatory | `hard-rule` |");
    // A pipe or angle bracket in a message cannot break the table row
    expect(md).toContain("hard-rule \\| says &lt;no&gt;");
  });

  test("passes the plan with advisory warnings only", () => {
    const report = buildPlanReport({
      stack: "dev",
      resources: runs.dev.run.resources,
      outputs: runs.dev.run.outputs,
      verdicts: [verdict("advisory", "soft-rule")],
    });
    expect(report.exitCode).toBe(0);
    expect(renderText(report)).toContain(
      "Policies: 0 mandatory violation(s), 1 advisory warning(s)",
    );
  });
});

describe("the markdown report", () => {
  test("writes dollar amounts with thousands separators and cents", () => {
    // GIVEN a report whose estimate is above a thousand dollars
    const { report } = runs.prod;
    if (!report.cost.available) throw new Error("eu-west-1 has prices");
    const big: PlanReport = { ...report, cost: { ...report.cost, totalMonthlyUsd: 12345.678 } };
    // THEN the summary and the cost section show it as money
    expect(renderMarkdown(big)).toContain("≈ $12,345.68 / month (estimate)");
    expect(renderText(big)).toContain("(an estimate, not a quote): $12,345.68 ");
  });

  test("has every section, the summary and a Mermaid diagram, ready for a PR comment", () => {
    // GIVEN the canary plan
    const { report } = runs.canary;
    // WHEN rendered as markdown
    const md = renderMarkdown(report);
    // THEN it has each section in order and the diagram in a mermaid fence
    const sections = [
      "## cutover plan: `dev`",
      "### Routing",
      "```mermaid\nflowchart LR",
      "### Policy verdicts",
      "### Estimated monthly cost",
      "### Resources",
      "### Config",
    ];
    const at = sections.map((s) => md.indexOf(s));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(md).toContain(`| ${report.resources.total} | ${report.routing.length} |`);
    expect(md).toContain("| api.dev.example.com | api | `3f9c2ab` | 90% | live |");
  });
});

describe("the Mermaid diagram", () => {
  test("is structurally valid: declared nodes, safe ids, quoted escaped labels", () => {
    // GIVEN the canary plan (live split, version hosts, a 503 host, ECS services)
    const diagram = renderMermaid(runs.canary.report);
    // THEN the checker accepts it, and it draws ALB → hosts → versions → ECS services
    expect(checkMermaid(diagram)).toEqual([]);
    expect(diagram).toMatch(/alb --> host_api_dev_example_com/);
    expect(diagram).toMatch(/host_api_dev_example_com -->\|"90%"\| ver_api_3f9c2ab/);
    expect(diagram).toMatch(/ver_api_3f9c2ab --> ecs_api_3f9c2ab/);
    expect(diagram).toMatch(/host_web_dev_example_com -\.-> none_web/);
  });

  test("escapes quotes, brackets and pipes in names and keeps ids safe", () => {
    // GIVEN a report whose load balancer name and fixed response hold Mermaid syntax
    const hostile = 'x"] --> evil["(y)" {z} <b> |p| #1`';
    const report: PlanReport = {
      ...runs.canary.report,
      loadBalancer: hostile,
      routing: runs.canary.report.routing.map((r) =>
        r.targets.length === 0 ? { ...r, fixedResponse: hostile, service: "we b!" } : r,
      ),
    };
    // THEN the checker still accepts the diagram and no raw syntax leaked into a label
    const diagram = renderMermaid(report);
    expect(checkMermaid(diagram)).toEqual([]);
    expect(diagram).not.toContain("evil[");
    expect(mermaidLabel('a"b[c]')).toBe('"a#quot;b#91;c#93;"');
  });

  test("the checker rejects undeclared nodes, unsafe ids and raw brackets in labels", () => {
    // The checker itself can fail: three broken diagrams, three kinds of error.
    expect(checkMermaid('flowchart LR\n  a["A"]\n  a --> b')).toEqual(["edge to undeclared b"]);
    expect(checkMermaid('flowchart LR\n  a-b["A"]')).toEqual(['bad line: a-b["A"]']);
    expect(checkMermaid('flowchart LR\n  a["A [x]"]')).toEqual(['raw syntax in label "A [x]"']);
  });
});

describe("the JSON report", () => {
  test("is one document with every section", () => {
    const doc = JSON.parse(renderJson(runs.canary.report)) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(
      expect.arrayContaining(["resources", "routing", "policies", "cost", "config", "diagram"]),
    );
    expect((doc.resources as { total: number }).total).toBe(runs.canary.run.resources.length);
  });
});

describe("planning with config", () => {
  test("shows a secure value as [secret] and never its ciphertext", async () => {
    // GIVEN dev with a secure config value the offline engine cannot decrypt
    const report = await planStack({
      stack: "dev",
      overrides: { "cutover:secrets": { NPM_TOKEN: { secure: "v1:CIPHERTEXT-MUST-NOT-SHOW" } } },
    });
    // THEN the plan still runs and prints the placeholder only
    for (const out of [renderText(report), renderMarkdown(report), renderJson(report)]) {
      expect(out).not.toContain("CIPHERTEXT-MUST-NOT-SHOW");
    }
    expect(renderText(report)).toContain('cutover:secrets = {"NPM_TOKEN":"[secret]"}');
    expect(renderMarkdown(report)).toContain('| `cutover:secrets` | `{"NPM_TOKEN":"[secret]"}` |');
  });

  test("refuses 50 services × 2 versions with the ALB quota message", async () => {
    // GIVEN prod with 50 services of 2 deployed versions each (150 rules on one listener)
    const services: Record<string, unknown> = {};
    const releases: Record<string, unknown> = {};
    for (let i = 1; i <= 50; i++) {
      const name = `svc-${i}`;
      services[name] = { port: 8080, healthCheckPath: "/h", cpu: 256, memory: 512, ruleBlock: i };
      releases[name] = { versions: [OLD, NEW], live: OLD };
    }
    // WHEN it is planned THEN config refuses it, naming the quota
    const planned = planStack({
      stack: "prod",
      overrides: { "cutover:services": services, "cutover:releases": releases },
    });
    await expect(planned).rejects.toBeInstanceOf(ConfigError);
    await expect(planned).rejects.toThrow(/need 150 listener rules .* one ALB allows 100 rules/);
  });

  test("the command prints every config problem and exits 2 without a stack trace", () => {
    // GIVEN a release file that names an unknown service and a SHA that is not one
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cutover-plan-"));
    const file = path.join(dir, "releases.yaml");
    fs.writeFileSync(file, "nope:\n  versions: [3f9c2ab]\napi:\n  versions: [not-a-sha]\n");
    // WHEN the plan command runs
    const child = spawnSync(
      process.execPath,
      [require.resolve("tsx/cli"), "scripts/plan.ts", "--stack", "dev", "--releases", file],
      { cwd: PROJECT_DIR, encoding: "utf8" },
    );
    // THEN it exits 2 and stderr lists both problems, without a stack trace
    expect(child.status).toBe(2);
    expect(child.stderr).toContain("cutover configuration is invalid");
    expect(child.stderr).toContain("`releases.nope` releases an unknown service");
    expect(child.stderr).toContain("`releases.api.versions.0`");
    expect(child.stderr).not.toMatch(/^\s+at /m);
    expect(child.stdout).toBe("");
  });
});

// ---------------------------------------------------------------------------------------------

function resource(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  state: Record<string, unknown> = {},
): RecordedResource {
  return {
    urn: `urn:pulumi:test::cutover::${type}::${name}`,
    type,
    name,
    custom: true,
    inputs,
    state,
    id: `${name}-id`,
  };
}

/** `cutover:services` of a stack file, as parsed YAML. */
function readServices(stack: string): Record<string, Record<string, unknown>> {
  const text = fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8");
  const doc = parse(text) as { config: Record<string, Record<string, Record<string, unknown>>> };
  return doc.config["cutover:services"];
}

/**
 * A small structural checker for the `flowchart LR` the plan emits: every line is a node
 * declaration, subgraph, edge or class statement; ids are `[A-Za-z0-9_]+`; labels are quoted
 * with no raw quote, bracket, brace, parenthesis, angle bracket, pipe or backtick inside; edges
 * only reference declared nodes. Returns the problems found.
 */
function checkMermaid(diagram: string): string[] {
  const lines = diagram.trimEnd().split("\n");
  const problems: string[] = [];
  if (lines[0] !== "flowchart LR") problems.push(`header is ${JSON.stringify(lines[0])}`);
  const ID = "[A-Za-z0-9_]+";
  const LABEL = '"([^"]*)"';
  const declared = new Set<string>();
  const edges: [string, string][] = [];
  const classed: string[] = [];
  const checkLabel = (label: string) => {
    if (/["[\](){}<>|`]/.test(label)) problems.push(`raw syntax in label "${label}"`);
  };
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^(${ID})\\[${LABEL}\\]$`).exec(line))) {
      declared.add(m[1]);
      checkLabel(m[2]);
    } else if ((m = new RegExp(`^subgraph (${ID})\\[${LABEL}\\]$`).exec(line))) {
      checkLabel(m[2]);
    } else if (line === "end") {
      continue;
    } else if ((m = new RegExp(`^(${ID}) (?:-->|-\\.->)(?:\\|${LABEL}\\|)? (${ID})$`).exec(line))) {
      if (m[2] !== undefined) checkLabel(m[2]);
      edges.push([m[1], m[3]]);
    } else if (/^classDef [A-Za-z]+ [a-z-]+:[^;]+;$/.test(line)) {
      continue;
    } else if ((m = new RegExp(`^class (${ID}(?:,${ID})*) [A-Za-z]+;$`).exec(line))) {
      classed.push(...m[1].split(","));
    } else {
      problems.push(`bad line: ${line}`);
    }
  }
  for (const [from, to] of edges) {
    for (const id of [from, to]) if (!declared.has(id)) problems.push(`edge to undeclared ${id}`);
  }
  for (const id of classed) if (!declared.has(id)) problems.push(`class on undeclared ${id}`);
  return problems;
}
