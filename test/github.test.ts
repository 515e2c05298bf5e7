import { ENVIRONMENT_VARIABLES, repositoryVariables } from "../components/github";
import { parseConfig, ParseContext, RawConfig } from "../config";
import { isSecretValue, MockEngine, RecordedResource } from "../engine/mocks";
import { readStackConfig, RunResult, runStack } from "../engine/run";
import { problemsOf as problemsIn } from "./support/config";

/**
 * The repository's governance as each real stack file plans it: branch protection, the target's
 * environment, the variables and secrets the workflows read, and the config that is refused.
 */

const STACKS = ["dev", "stage", "prod"] as const;
type Stack = (typeof STACKS)[number];

const T = {
  protection: "github:index/branchProtection:BranchProtection",
  environment: "github:index/repositoryEnvironment:RepositoryEnvironment",
  deploymentPolicy:
    "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy",
  envVariable: "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable",
  repoVariable: "github:index/actionsVariable:ActionsVariable",
  envSecret: "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret",
  provider: "pulumi:providers:github",
} as const;

const runs = {} as Record<Stack, RunResult>;

beforeAll(async () => {
  for (const stack of STACKS) runs[stack] = await runStack({ stack });
});

function ofType(run: RunResult, type: string): RecordedResource[] {
  return run.resources.filter((r) => r.type === type);
}

function protectionOf(run: RunResult, pattern: string): Record<string, unknown> {
  const rules = ofType(run, T.protection).filter((r) => r.inputs.pattern === pattern);
  expect(rules).toHaveLength(1);
  return rules[0].inputs;
}

describe("branch protection", () => {
  test("exactly one of the three stack files manages branch protection, and it is prod", () => {
    // GIVEN dev, stage and prod as committed; WHEN each is planned
    const managing = STACKS.filter((stack) => ofType(runs[stack], T.protection).length > 0);
    // THEN only prod registers rules (two stacks would fight over the same rules)
    expect(managing).toEqual(["prod"]);
    expect(
      ofType(runs.prod, T.protection)
        .map((r) => r.inputs.pattern)
        .sort(),
    ).toEqual(["develop", "main"]);
  });

  test("main needs two fresh approvals incl. code owners, strict checks, linear history, and binds admins", () => {
    // GIVEN prod; WHEN planned; THEN main's rule, field by field
    const main = protectionOf(runs.prod, "main");
    expect(main.repositoryId).toBe("shop");
    expect(main.enforceAdmins).toBe(true);
    expect(main.allowsForcePushes).toBe(false);
    expect(main.allowsDeletions).toBe(false);
    expect(main.requiredLinearHistory).toBe(true);
    expect(main.requireConversationResolution).toBe(true);
    expect(main.requiredPullRequestReviews).toEqual([
      {
        requiredApprovingReviewCount: 2,
        dismissStaleReviews: true,
        requireCodeOwnerReviews: true,
        requireLastPushApproval: true,
      },
    ]);
    expect(main.requiredStatusChecks).toEqual([
      { strict: true, contexts: ["lint", "test", "plan"] },
    ]);
  });

  test("develop needs a reviewed pull request and the same checks, and takes no force push", () => {
    // GIVEN prod; WHEN planned; THEN develop's rule is lighter than main's but still gated
    const develop = protectionOf(runs.prod, "develop");
    expect(develop.repositoryId).toBe("shop");
    expect(develop.allowsForcePushes).toBe(false);
    expect(develop.requiredPullRequestReviews).toEqual([{ requiredApprovingReviewCount: 1 }]);
    expect(develop.requiredStatusChecks).toEqual([
      { strict: false, contexts: ["lint", "test", "plan"] },
    ]);
  });

  test("the repository itself is never created or deleted: it is named, not managed", () => {
    for (const stack of STACKS) {
      const types = new Set(runs[stack].resources.map((r) => r.type));
      expect(types.has("github:index/repository:Repository")).toBe(false);
    }
  });
});

describe("environments", () => {
  test.each(STACKS)("%s has exactly one environment, named after its target", (stack) => {
    const environments = ofType(runs[stack], T.environment);
    expect(environments.map((e) => [e.inputs.repository, e.inputs.environment])).toEqual([
      ["shop", stack],
    ]);
  });

  test.each(STACKS)("%s deploys from main only, by name", (stack) => {
    // GIVEN the target's environment
    const [environment] = ofType(runs[stack], T.environment);
    // THEN branches are chosen by name, not "any protected branch" (develop is protected too) ...
    expect(environment.inputs.deploymentBranchPolicy).toEqual({
      protectedBranches: false,
      customBranchPolicies: true,
    });
    // ... and the one name is main
    expect(ofType(runs[stack], T.deploymentPolicy).map((p) => p.inputs)).toEqual([
      { repository: "shop", environment: stack, branchPattern: "main" },
    ]);
  });

  test("prod waits for its reviewers, looked up on GitHub, who cannot approve their own runs", () => {
    // GIVEN prod with `prodReviewers: { teams: [platform] }`
    const [environment] = ofType(runs.prod, T.environment);
    // WHEN planned; THEN the team is resolved to the id GitHub knows it by
    const lookups = runs.prod.engine.invokes.filter(
      (i) => i.token === "github:index/getTeam:getTeam",
    );
    expect(lookups.map((i) => i.inputs.slug)).toEqual(["platform"]);
    const platform = runs.prod.engine.call({
      token: "github:index/getTeam:getTeam",
      inputs: { slug: "platform" },
    }) as { id: string };
    expect(environment.inputs.reviewers).toEqual([{ teams: [Number(platform.id)], users: [] }]);
    // ... and neither the author nor an admin can wave a deployment through
    expect(environment.inputs.preventSelfReview).toBe(true);
    expect(environment.inputs.canAdminsBypass).toBe(false);
  });

  test.each(["dev", "stage"] as const)("%s deploys without waiting for a reviewer", (stack) => {
    const [environment] = ofType(runs[stack], T.environment);
    expect(environment.inputs.reviewers).toBeUndefined();
    expect(environment.inputs.preventSelfReview).toBe(false);
  });

  test.each(STACKS)("%s's GitHub resources are all named after their component", (stack) => {
    const github = runs[stack].resources.filter((r) => r.type.startsWith("github:"));
    expect(github.length).toBeGreaterThan(5);
    for (const r of github) expect(r.name).toMatch(/^github-[a-z0-9-]+$/);
  });
});

describe("variables the workflows read", () => {
  test.each(STACKS)(
    "%s's environment carries region, roles, registry, domain and stack",
    (stack) => {
      // GIVEN the stack; WHEN planned
      const run = runs[stack];
      const variables = Object.fromEntries(
        ofType(run, T.envVariable).map((v) => {
          expect(v.inputs.environment).toBe(stack);
          return [v.inputs.variableName, v.inputs.value];
        }),
      );
      const ci = run.outputs.ci as Record<string, string>;
      // THEN exactly the names the workflows use, with the stack's values
      expect(Object.keys(variables).sort()).toEqual(Object.values(ENVIRONMENT_VARIABLES).sort());
      expect(variables.AWS_REGION).toBe("eu-west-1");
      expect(variables.AWS_DEPLOY_ROLE_ARN).toBe(ci.deployRoleArn);
      expect(variables.AWS_PUSH_ROLE_ARN).toBe(ci.pushRoleArn);
      expect(variables.ECR_REGISTRY).toBe("123456789012.dkr.ecr.eu-west-1.amazonaws.com");
      expect(variables.CUTOVER_DOMAIN).toBe(`${stack}.example.com`);
      expect(variables.PULUMI_STACK).toBe(stack);
      // ... and the repository URLs are the Registry's real ones, service by service
      const registry = Object.fromEntries(
        ofType(run, "aws:ecr/repository:Repository").map((r) => [
          String(r.inputs.name).split("/").pop(),
          r.state.repositoryUrl,
        ]),
      );
      expect(JSON.parse(String(variables.ECR_REPOSITORIES))).toEqual(registry);
      expect(Object.keys(registry).sort()).toEqual(["api", "web"]);
    },
  );

  test.each(STACKS)(
    "pull-request previews find %s's preview role in repository variables",
    (stack) => {
      // GIVEN the stack; WHEN planned; THEN repository-level variables carry the target's suffix
      const names = repositoryVariables(stack);
      const variables = Object.fromEntries(
        ofType(runs[stack], T.repoVariable).map((v) => [v.inputs.variableName, v.inputs.value]),
      );
      expect(variables).toEqual({
        [names.previewRoleArn]: (runs[stack].outputs.ci as Record<string, string>).previewRoleArn,
        [names.awsRegion]: "eu-west-1",
        [names.pulumiStack]: stack,
      });
      expect(names.previewRoleArn).toBe(`PREVIEW_ROLE_ARN_${stack.toUpperCase()}`);
    },
  );
});

describe("secrets", () => {
  const SECRET = "https://hooks.example.com/services/T000/B000/not-for-eyes";

  test("secrets from cutover:secrets reach GitHub wrapped as secrets and nowhere in the clear", async () => {
    // GIVEN prod with an encrypted `cutover:secrets` entry
    const base = readStackConfig("prod");
    const config = {
      values: { ...base.values, "cutover:secrets": JSON.stringify({ SLACK_WEBHOOK: SECRET }) },
      secretKeys: [...base.secretKeys, "cutover:secrets"],
    };
    // WHEN planned
    const run = await runStack({ stack: "prod", config });
    // THEN it becomes one environment secret whose value arrives as a Pulumi secret ...
    const secrets = ofType(run, T.envSecret);
    expect(secrets.map((s) => [s.inputs.environment, s.inputs.secretName])).toEqual([
      ["prod", "SLACK_WEBHOOK"],
    ]);
    expect(isSecretValue(secrets[0].inputs.value)).toBe(true);
    // ... no input carries it unwrapped, and no stack output carries it at all
    for (const r of run.resources)
      expect(JSON.stringify(withoutSecrets(r.inputs))).not.toContain(SECRET);
    expect(JSON.stringify(run.outputs)).not.toContain(SECRET);
  });

  test("the GitHub token from the environment reaches the provider as a secret", async () => {
    // GIVEN GITHUB_TOKEN exported where pulumi runs
    const token = "ghp_0000000000000000000000000000000000ab";
    const before = process.env.GITHUB_TOKEN;
    process.env.GITHUB_TOKEN = token;
    try {
      // WHEN prod is planned
      const run = await runStack({ stack: "prod" });
      // THEN the explicit provider holds it as a secret (never plaintext state) for owner acme
      const [provider] = ofType(run, T.provider);
      expect(provider.inputs.owner).toBe("acme");
      expect(isSecretValue(provider.inputs.token)).toBe(true);
      expect(JSON.stringify(run.outputs)).not.toContain(token);
    } finally {
      if (before === undefined) delete process.env.GITHUB_TOKEN;
      else process.env.GITHUB_TOKEN = before;
    }
  });

  test.each(STACKS)("%s's CI outputs are IAM ARNs and nothing else", (stack) => {
    // GIVEN the stack's outputs; THEN the CI group holds the four ARNs a workflow author needs
    const ci = runs[stack].outputs.ci as Record<string, string>;
    expect(Object.keys(ci).sort()).toEqual([
      "deployRoleArn",
      "oidcProviderArn",
      "previewRoleArn",
      "pushRoleArn",
    ]);
    for (const value of Object.values(ci)) {
      expect(value).toMatch(
        /^arn:aws:iam::\d{12}:(role\/cutover-[a-z]+-[a-z]+|oidc-provider\/.+)$/,
      );
    }
  });
});

describe("bad GitHub config is refused with a message that names the key", () => {
  const ctx = { project: "cutover", stack: "prod", region: "eu-west-1" };

  function prod(github: Record<string, unknown>): RawConfig {
    return {
      target: "prod",
      domain: "prod.example.com",
      hostedZone: "example.com",
      network: { cidr: "10.30.0.0/16" },
      services: {
        api: { port: 8080, healthCheckPath: "/health", cpu: 256, memory: 512, desiredCount: 2 },
      },
      github,
    };
  }
  const good = { owner: "acme", repository: "shop", prodReviewers: { teams: ["platform"] } };

  const problemsOf = (raw: RawConfig, context: ParseContext = ctx) => problemsIn(raw, context);

  test("a complete block is accepted, with prod managing branch protection by default", () => {
    const parsed = parseConfig(prod(good), ctx);
    expect(parsed.github).toEqual({
      owner: "acme",
      repository: "shop",
      manageBranchProtection: true,
      requiredChecks: ["lint", "test", "plan"],
      prodReviewers: { teams: ["platform"], users: [] },
      oidcProvider: "create",
      oidcSubjectPrefix: "repo:acme/shop",
    });
  });

  const BAD: [string, Record<string, unknown>, RegExp][] = [
    ["a missing owner", { ...good, owner: undefined }, /`github.owner` is required/],
    [
      "an owner that is not a login",
      { ...good, owner: "acme corp" },
      /`github.owner` must be a GitHub user or organization login/,
    ],
    ["a missing repository", { ...good, repository: undefined }, /`github.repository` is required/],
    [
      "a repository written with its owner",
      { ...good, repository: "acme/shop" },
      /`github.repository` must be a repository name, e.g. shop \(without the owner\)/,
    ],
    [
      "no reviewers for prod",
      { ...good, prodReviewers: { teams: [], users: [] } },
      /`github.prodReviewers` is empty; prod deployments need at least one reviewer/,
    ],
    [
      "a team given by display name",
      { ...good, prodReviewers: { teams: ["Platform Team"] } },
      /`github.prodReviewers.teams.0` has "Platform Team"; use the team's slug/,
    ],
    [
      "more reviewers than GitHub accepts",
      { ...good, prodReviewers: { users: ["a", "b", "c", "d", "e", "f", "g"] } },
      /`github.prodReviewers.users` lists more than 6 users/,
    ],
    [
      "a check name with shell in it",
      { ...good, requiredChecks: ["lint; rm -rf /"] },
      /`github.requiredChecks.0` has "lint; rm -rf \/"; a check name is the job\/status name/,
    ],
    [
      "no required checks",
      { ...good, requiredChecks: [] },
      /`github.requiredChecks` must name at least one status check/,
    ],
    [
      "a check named twice",
      { ...good, requiredChecks: ["lint", "lint"] },
      /`github.requiredChecks` names a check twice/,
    ],
    [
      "an unknown OIDC provider mode",
      { ...good, oidcProvider: "maybe" },
      /`github.oidcProvider` must be `create` or `existing`/,
    ],
    [
      "a wildcard OIDC subject",
      { ...good, oidcSubjectPrefix: "repo:acme/*" },
      /`github.oidcSubjectPrefix` is "repo:acme\/\*"; .*without wildcards/,
    ],
    [
      "a misspelt key",
      { ...good, requiredCheck: ["lint"] },
      /`github.requiredCheck` is not a setting of `github`/,
    ],
  ];

  test.each(BAD)("refuses %s", (_name, github, message) => {
    // GIVEN a prod config whose GitHub block has the mistake; WHEN parsed; THEN the message says so
    const patched = Object.fromEntries(Object.entries(github).filter(([, v]) => v !== undefined));
    expect(problemsOf(prod(patched)).join("\n")).toMatch(message);
  });

  test("refuses a GitHub token in the stack config and points at GITHUB_TOKEN", () => {
    const problems = problemsOf(prod(good), { ...ctx, githubProvider: { tokenInConfig: true } });
    expect(problems.join("\n")).toMatch(
      /`github:token` is set in the stack config; remove it .* export GITHUB_TOKEN/,
    );
  });

  test("refuses a provider owner that differs from the repository's owner", () => {
    const problems = problemsOf(prod(good), { ...ctx, githubProvider: { owner: "other" } });
    expect(problems.join("\n")).toMatch(/`github:owner` is other but `github.owner` is acme/);
    expect(problemsOf(prod(good), { ...ctx, githubProvider: { owner: "acme" } })).toEqual([]);
  });

  test("a stack file with a malformed GitHub block registers nothing", async () => {
    // GIVEN prod's stack file with the owner folded into the repository
    const engine = new MockEngine({ project: "cutover", stack: "prod" });
    const overrides = { "cutover:github": { ...good, repository: "acme/shop" } };
    // WHEN planned; THEN it is refused before any resource exists
    await expect(runStack({ stack: "prod", overrides, engine })).rejects.toThrow(
      /`github.repository` must be a repository name/,
    );
    expect(engine.resources).toEqual([]);
  });
});

/** Inputs with every wrapped secret replaced, to look for values that escaped wrapping. */
function withoutSecrets(value: unknown): unknown {
  if (isSecretValue(value)) return "[wrapped]";
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutSecrets(v)]));
  }
  return value;
}
