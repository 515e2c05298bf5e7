import * as pulumi from "@pulumi/pulumi";
import { RecordedResource } from "../engine/mocks";
import { RunResult, runStack } from "../engine/run";

/**
 * The CI identities of every real stack file, read as the engine receives them: each trust policy
 * and permission document is parsed from the JSON the program sends, not rebuilt in the test.
 */

const STACKS = ["dev", "stage", "prod"] as const;
type Stack = (typeof STACKS)[number];
const ROLES = ["preview", "deploy", "push"] as const;
const ISSUER = "token.actions.githubusercontent.com";

interface Statement {
  Sid?: string;
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: string | string[];
  Principal?: Record<string, string>;
  Condition?: Record<string, Record<string, string | string[]>>;
}
interface Document {
  Version: string;
  Statement: Statement[];
}

/** What the register request says beyond the inputs: protection and dependencies. */
interface Registration {
  readonly urn: string;
  readonly protect: boolean;
  readonly dependencies: string[];
}

const runs = {} as Record<Stack, RunResult>;
const registrations = {} as Record<Stack, Registration[]>;

beforeAll(async () => {
  for (const stack of STACKS) {
    const seen: Registration[] = [];
    const restore = recordRegistrations(stack, seen);
    try {
      runs[stack] = await runStack({ stack });
    } finally {
      restore();
    }
    registrations[stack] = seen;
  }
});

/** Wraps the mock monitor `setMocks` installs to note each registration's protect flag and deps. */
function recordRegistrations(stack: string, into: Registration[]): () => void {
  const setMocks = pulumi.runtime.setMocks;
  const spy = jest
    .spyOn(pulumi.runtime, "setMocks")
    .mockImplementation(async (...args: Parameters<typeof setMocks>) => {
      await setMocks(...args);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const settings = require("@pulumi/pulumi/runtime/settings") as {
        getMonitor(): { registerResource(req: RegisterRequest, cb: unknown): unknown };
      };
      const monitor = settings.getMonitor();
      const register = monitor.registerResource.bind(monitor);
      monitor.registerResource = (req, cb) => {
        const dependencies = [...req.getDependenciesList()];
        req
          .getPropertydependenciesMap()
          .forEach((deps) => dependencies.push(...deps.getUrnsList()));
        into.push({
          urn: `urn:pulumi:${stack}::cutover::${req.getType()}::${req.getName()}`,
          protect: req.getProtect(),
          dependencies: [...new Set(dependencies)],
        });
        return register(req, cb);
      };
    });
  return () => spy.mockRestore();
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getProtect(): boolean;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(fn: (deps: { getUrnsList(): string[] }) => void): void };
}

function byName(stack: Stack, name: string): RecordedResource {
  const found = runs[stack].resources.find((r) => r.name === name);
  if (!found) throw new Error(`${stack} registered no resource named ${name}`);
  return found;
}

function trust(stack: Stack, role: string): Document {
  return JSON.parse(String(byName(stack, `identities-${role}`).inputs.assumeRolePolicy));
}

/** A role's whole grant: its inline policy and the managed policies attached to it. */
function permissions(stack: Stack, role: string): Document {
  const inline = JSON.parse(String(byName(stack, `identities-${role}-policy`).inputs.policy));
  const roleName = byName(stack, `identities-${role}`).inputs.name;
  const attached = runs[stack].resources
    .filter((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    .filter((r) => r.inputs.role === roleName)
    .map((r) => runs[stack].resources.find((p) => p.state.arn === r.inputs.policyArn))
    .map((p) => JSON.parse(String(p!.inputs.policy)) as Document);
  return {
    Version: inline.Version,
    Statement: [inline, ...attached].flatMap((d: Document) => d.Statement),
  };
}

function actions(s: Statement): string[] {
  return s.Action === undefined ? [] : ([] as string[]).concat(s.Action);
}

function resources(s: Statement): string[] {
  return s.Resource === undefined ? [] : ([] as string[]).concat(s.Resource);
}

const READ = /^[a-z0-9-]+:(Describe|Get|List)[A-Za-z]*$/;
const ACCOUNT = "123456789012";

describe("trust: who may assume the CI roles", () => {
  test.each(STACKS)(
    "every %s role trusts GitHub's OIDC provider for STS with an exact audience and subject",
    (stack) => {
      for (const role of ROLES) {
        // GIVEN the stack file as committed; WHEN its trust policy reaches the engine
        const doc = trust(stack, role);
        // THEN one statement federates GitHub's issuer, with StringEquals on aud and sub only
        expect(doc.Statement).toHaveLength(1);
        const [s] = doc.Statement;
        expect(s.Effect).toBe("Allow");
        expect(s.Action).toBe("sts:AssumeRoleWithWebIdentity");
        expect(s.Principal?.Federated).toBe(`arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER}`);
        expect(Object.keys(s.Condition ?? {})).toEqual(["StringEquals"]);
        expect(s.Condition!.StringEquals[`${ISSUER}:aud`]).toBe("sts.amazonaws.com");
        expect(typeof s.Condition!.StringEquals[`${ISSUER}:sub`]).toBe("string");
        // ... and never a set operator: sub and aud are single-valued claims
        expect(JSON.stringify(doc)).not.toMatch(/ForAllValues|ForAnyValue/);
      }
    },
  );

  test.each(STACKS)("the %s preview role trusts pull requests of acme/shop only", (stack) => {
    // GIVEN the stack file; WHEN the preview role is planned; THEN its sub is the PR subject
    const sub = trust(stack, "preview").Statement[0].Condition!.StringEquals[`${ISSUER}:sub`];
    expect(sub).toBe("repo:acme/shop:pull_request");
  });

  test.each(STACKS)(
    "the %s deploy and push roles trust only their own target's environment",
    (stack) => {
      for (const role of ["deploy", "push"]) {
        // GIVEN the stack file; WHEN the role is planned
        const sub = trust(stack, role).Statement[0].Condition!.StringEquals[`${ISSUER}:sub`];
        // THEN the subject names this target's environment, and no wildcard widens it
        expect(sub).toBe(`repo:acme/shop:environment:${stack}`);
        expect(sub).not.toMatch(/[*?]/);
        expect(sub).not.toBe("repo:acme/shop:*");
      }
    },
  );

  test("a repository with immutable subject claims gets its exact prefix in every trust", async () => {
    // GIVEN dev's GitHub block with the subject prefix GitHub shows for the repository
    const prefix = "repo:acme@1234/shop@5678";
    const { resources } = await runStack({
      stack: "dev",
      overrides: {
        "cutover:github": {
          owner: "acme",
          repository: "shop",
          oidcProvider: "create",
          oidcSubjectPrefix: prefix,
        },
      },
    });
    // WHEN the roles are planned; THEN every subject starts with that prefix and nothing else
    const subs = ROLES.map((role) => {
      const role_ = resources.find((r) => r.name === `identities-${role}`)!;
      const doc = JSON.parse(String(role_.inputs.assumeRolePolicy)) as Document;
      return doc.Statement[0].Condition!.StringEquals[`${ISSUER}:sub`];
    });
    expect(subs).toEqual([
      `${prefix}:pull_request`,
      `${prefix}:environment:dev`,
      `${prefix}:environment:dev`,
    ]);
  });

  test.each(STACKS)("%s sessions are bounded: an hour, two for deploys", (stack) => {
    // GIVEN the stack file; WHEN the roles are planned; THEN each session length is capped
    expect(byName(stack, "identities-preview").inputs.maxSessionDuration).toBe(3600);
    expect(byName(stack, "identities-push").inputs.maxSessionDuration).toBe(3600);
    expect(byName(stack, "identities-deploy").inputs.maxSessionDuration).toBe(7200);
  });

  test.each(STACKS)("%s role names carry project and target and fit IAM's limit", (stack) => {
    for (const role of ROLES) {
      const name = String(byName(stack, `identities-${role}`).inputs.name);
      expect(name).toBe(`cutover-${stack}-${role}`);
      expect(name.length).toBeLessThanOrEqual(64);
    }
  });
});

describe("the account's GitHub OIDC provider", () => {
  test("dev creates it for GitHub's issuer and STS; stage and prod look it up", () => {
    // GIVEN the three stack files; WHEN planned
    const providers = (stack: Stack) =>
      runs[stack].resources.filter(
        (r) => r.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
      );
    const lookups = (stack: Stack) =>
      runs[stack].engine.invokes.filter(
        (i) => i.token === "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider",
      );
    // THEN exactly dev creates the one provider the account may hold ...
    expect(providers("dev").map((p) => p.inputs)).toEqual([
      { url: `https://${ISSUER}`, clientIdLists: ["sts.amazonaws.com"] },
    ]);
    expect(lookups("dev")).toEqual([]);
    // ... and the others find it by its URL
    for (const stack of ["stage", "prod"] as const) {
      expect(providers(stack)).toEqual([]);
      expect(lookups(stack).map((i) => i.inputs.url)).toEqual([`https://${ISSUER}`]);
    }
  });
});

describe("permissions: what the CI roles may do", () => {
  test.each(STACKS)("no %s IAM policy grants wildcard administration", (stack) => {
    // GIVEN every identity policy the stack registers (CI roles and the platform's own)
    const docs = runs[stack].resources
      .filter(
        (r) => r.type === "aws:iam/rolePolicy:RolePolicy" || r.type === "aws:iam/policy:Policy",
      )
      .map((r) => JSON.parse(String(r.inputs.policy)) as Document);
    expect(docs.length).toBeGreaterThanOrEqual(4);
    for (const doc of docs) {
      for (const s of doc.Statement.filter((st) => st.Effect === "Allow")) {
        // THEN no statement allows every action, every action of IAM, or "all but"
        expect(s.NotAction).toBeUndefined();
        for (const action of actions(s)) {
          expect(["*", "*:*", "iam:*"]).not.toContain(action);
          expect(action).not.toMatch(/^[a-z0-9-]+:\*$/);
        }
      }
    }
  });

  test.each(STACKS)(
    "unconditioned %s grants on every resource are reads, or what AWS scopes no further",
    (stack) => {
      // AWS offers these on `*` only; each is explained where it is granted.
      const unscopable = ["ecr:GetAuthorizationToken", "ecs:DeregisterTaskDefinition"];
      for (const role of ROLES) {
        for (const s of permissions(stack, role).Statement) {
          if (!resources(s).includes("*") || s.Condition) continue;
          // THEN such a statement only describes, lists or gets metadata
          for (const action of actions(s)) {
            if (unscopable.includes(action)) continue;
            expect(`${role}: ${action}`).toMatch(/: [a-z0-9-]+:(Describe|Get|List)[A-Za-z]*$/);
          }
        }
      }
    },
  );

  test.each(STACKS)("the %s preview role only reads, and never data", (stack) => {
    // GIVEN the preview role's policy
    const all = permissions(stack, "preview").Statement.flatMap(actions);
    // THEN every action is a read ...
    for (const action of all) expect(action).toMatch(READ);
    // ... and none reads objects, parameters one by one, secrets or keys' plaintext
    for (const action of all) {
      expect(action).not.toMatch(
        /^(s3:GetObject|ssm:GetParameters?$|secretsmanager:|kms:Decrypt|ec2:DescribeInstanceAttribute)/,
      );
    }
  });

  test.each(STACKS)("the %s preview role reads its own target's release state only", (stack) => {
    const ssm = permissions(stack, "preview").Statement.filter((s) =>
      actions(s).some((a) => a.startsWith("ssm:")),
    );
    // THEN one statement, GetParametersByPath, on this target's release path
    expect(ssm.map(actions)).toEqual([["ssm:GetParametersByPath"]]);
    expect(resources(ssm[0])).toEqual([
      `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/cutover/${stack}/releases`,
      `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/cutover/${stack}/releases/*`,
    ]);
  });

  test.each(STACKS)(
    "the %s deploy role changes only what carries its target's tag, or names, zone, parameters of its own",
    (stack) => {
      // GIVEN the deploy role's policy
      const doc = permissions(stack, "deploy");
      const tagKeys = [`aws:RequestTag/cutover:target`, `aws:ResourceTag/cutover:target`];
      for (const s of doc.Statement) {
        const writes = actions(s).filter((a) => !READ.test(a));
        if (writes.length === 0 || !resources(s).includes("*")) continue;
        if (s.Sid === "TaskDefinitionRevisions" || s.Sid === "ReadMetrics") continue;
        // THEN a write on `*` is bounded by this target's tag (or by ECR as the calling service)
        const conditions = Object.values(s.Condition ?? {}).flatMap((c) => Object.entries(c));
        const byTag = conditions.filter(([key]) => tagKeys.includes(key));
        const viaEcr = conditions.some(
          ([key, value]) => key === "kms:ViaService" && value === "ecr.eu-west-1.amazonaws.com",
        );
        expect(byTag.length > 0 || viaEcr).toBe(true);
        for (const [, value] of byTag) expect(value).toBe(stack);
      }
      // ... IAM writes touch this target's roles only, and PassRole names the service
      const iam = doc.Statement.filter((s) => actions(s).some((a) => a.startsWith("iam:")));
      for (const s of iam.filter((st) => actions(st).some((a) => !READ.test(a)))) {
        expect(resources(s)).toEqual([`arn:aws:iam::${ACCOUNT}:role/cutover-${stack}-*`]);
      }
      const passRole = doc.Statement.find((s) => actions(s).includes("iam:PassRole"))!;
      expect(passRole.Condition?.StringEquals?.["iam:PassedToService"]).toEqual([
        "ecs-tasks.amazonaws.com",
        "vpc-flow-logs.amazonaws.com",
      ]);
      // ... and no IAM action lets it rewrite a role's trust or inline policy (its own included)
      const granted = doc.Statement.flatMap(actions);
      for (const forbidden of [
        "iam:PutRolePolicy",
        "iam:UpdateAssumeRolePolicy",
        "iam:CreatePolicy",
        "iam:CreatePolicyVersion",
        "iam:CreateOpenIDConnectProvider",
        "iam:CreateUser",
        "iam:CreateAccessKey",
      ]) {
        expect(granted).not.toContain(forbidden);
      }
      // ... release state and the release locks are read and written under its own paths only
      const ssm = doc.Statement.filter((s) => actions(s).some((a) => a.startsWith("ssm:")));
      expect(ssm.flatMap(resources)).toEqual([
        `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/cutover/${stack}/releases`,
        `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/cutover/${stack}/releases/*`,
        `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/cutover/${stack}/release-locks/*`,
      ]);
      // ... DNS changes stay in the hosted zone and under the target's domain
      const dns = doc.Statement.find((s) =>
        actions(s).includes("route53:ChangeResourceRecordSets"),
      )!;
      expect(resources(dns)).toEqual([expect.stringMatching(/^arn:aws:route53:::hostedzone\/Z/)]);
      expect(
        dns.Condition?.["ForAllValues:StringLike"]?.[
          "route53:ChangeResourceRecordSetsNormalizedRecordNames"
        ],
      ).toEqual([`*.${stack}.example.com`]);
      // ... and repositories are this target's
      const ecr = doc.Statement.filter((s) =>
        actions(s).some((a) => /^ecr:(Create|Delete|Put)/.test(a)),
      );
      expect([...new Set(ecr.flatMap(resources))]).toEqual([
        `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/cutover/${stack}/*`,
      ]);
    },
  );

  test.each(STACKS)("the %s push role pushes to its target's repositories only", (stack) => {
    // GIVEN the push role's policy; THEN a registry login, and pushes to this target's repos
    const doc = permissions(stack, "push");
    expect(doc.Statement.map((s) => [actions(s).length > 0, resources(s)])).toEqual([
      [true, ["*"]],
      [true, [`arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/cutover/${stack}/*`]],
    ]);
    expect(actions(doc.Statement[0])).toEqual(["ecr:GetAuthorizationToken"]);
    for (const action of actions(doc.Statement[1])) expect(action).toMatch(/^ecr:/);
    expect(actions(doc.Statement[1])).toContain("ecr:PutImage");
  });

  test.each(STACKS)("the %s repositories the push role may use are the Registry's own", (stack) => {
    // GIVEN the repositories the Registry creates; THEN the push pattern covers each of them
    const pattern = resources(permissions(stack, "push").Statement[1])[0];
    const prefix = pattern.replace(/\*$/, "");
    const repos = runs[stack].resources.filter((r) => r.type === "aws:ecr/repository:Repository");
    expect(repos.length).toBeGreaterThan(0);
    for (const repo of repos)
      expect(String(repo.state.arn)).toMatch(new RegExp(`^${escape(prefix)}`));
  });

  test.each(STACKS)("%s CI policies fit IAM's size limits, with room to grow", (stack) => {
    // A real `pulumi up` fails on an oversize policy; mocks would accept it. IAM counts characters
    // without whitespace: 10,240 for a role's inline policies, 6,144 for a managed policy.
    const size = (name: string) =>
      String(byName(stack, name).inputs.policy).replace(/\s/g, "").length;
    for (const role of ROLES) {
      expect(size(`identities-${role}-policy`)).toBeLessThanOrEqual(10240 * 0.9);
    }
    expect(size("identities-read")).toBeLessThanOrEqual(6144 * 0.9);
    // ... and the read policy is what both preview and deploy read with
    for (const role of ["preview", "deploy"]) {
      const sids = permissions(stack, role).Statement.map((s) => s.Sid);
      expect(sids).toEqual(expect.arrayContaining(["DescribeResources", "ReadHostedZone"]));
    }
  });

  test.each(STACKS)("%s roles the program names are ones its deploy role may manage", (stack) => {
    // GIVEN every IAM role of the stack other than the CI roles themselves
    const roles = runs[stack].resources.filter(
      (r) => r.type === "aws:iam/role:Role" && !r.name.startsWith("identities-"),
    );
    const named = roles.filter((r) => typeof r.inputs.name === "string");
    // THEN each named role is inside the deploy role's IAM scope ...
    for (const role of named)
      expect(String(role.inputs.name)).toMatch(new RegExp(`^cutover-${stack}-`));
    // ... and no role is left to a generated name outside that scope
    expect(roles.filter((r) => r.inputs.name === undefined).map((r) => r.name)).toEqual([]);
  });
});

describe("the CI plumbing outlives a teardown", () => {
  test.each(STACKS)(
    "%s identities and GitHub governance are protected and depend on no unprotected resource",
    (stack) => {
      // GIVEN every registration of the stack with its protect flag and dependencies
      const all = registrations[stack];
      const protectedUrns = new Set(
        all.filter((r) => r.protect).map((r) => r.urn.split("::").pop()),
      );
      const ci = all.filter(
        (r) => /::(identities|github)(-|$)/.test(r.urn) && !/providers:/.test(r.urn),
      );
      expect(ci.length).toBeGreaterThan(10);
      // THEN `pulumi destroy --exclude-protected` keeps each of them ...
      expect(ci.filter((r) => !r.protect).map((r) => r.urn)).toEqual([]);
      // ... and keeps nothing of the platform for them: their dependencies are CI plumbing too
      const platformDependencies = ci.flatMap((r) =>
        r.dependencies
          .map((urn) => urn.split("::").pop())
          .filter((name) => !protectedUrns.has(name))
          .map((name) => `${r.urn.split("::").pop()} -> ${name}`),
      );
      expect(platformDependencies).toEqual([]);
      // ... while the platform itself is not protected (the teardown removes it), but for the
      // flow-log role and its inline policy, which CI may not write (it has no iam:PutRolePolicy)
      expect(
        all
          .filter((r) => r.protect && /::(network|edge|ecs|registry)/.test(r.urn))
          .map((r) => r.urn.split("::").pop()),
      ).toEqual(["network-flow-logs-role", "network-flow-logs-policy"]);
    },
  );
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
