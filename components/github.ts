import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";

/** The branch every environment deploys from, and nothing else. */
export const DEPLOY_BRANCH = "main";
/** The integration branch: reviewed and checked, never deployed. */
export const INTEGRATION_BRANCH = "develop";

/**
 * Actions variables of each target's environment, by what they hold. Their names are an API of
 * `.github/workflows/*.yml` (a test checks every `vars.X` a workflow reads is defined here).
 */
export const ENVIRONMENT_VARIABLES = {
  awsRegion: "AWS_REGION",
  deployRoleArn: "AWS_DEPLOY_ROLE_ARN",
  pushRoleArn: "AWS_PUSH_ROLE_ARN",
  ecrRegistry: "ECR_REGISTRY",
  /** JSON object: service name → repository URL. */
  ecrRepositories: "ECR_REPOSITORIES",
  domain: "CUTOVER_DOMAIN",
  pulumiStack: "PULUMI_STACK",
} as const;

/**
 * Repository-level variables a pull-request preview reads for one target. A pull-request job
 * cannot use the target's environment: only `main` may deploy to it, and entering it would change
 * the OIDC subject the preview role trusts.
 */
export function repositoryVariables(target: string): {
  readonly previewRoleArn: string;
  readonly awsRegion: string;
  readonly pulumiStack: string;
} {
  const suffix = target.toUpperCase();
  return {
    previewRoleArn: `PREVIEW_ROLE_ARN_${suffix}`,
    awsRegion: `AWS_REGION_${suffix}`,
    pulumiStack: `PULUMI_STACK_${suffix}`,
  };
}

/** What the workflows need to know about the target: non-secret stack outputs. */
export interface WorkflowValues {
  readonly awsRegion: string;
  readonly previewRoleArn: pulumi.Input<string>;
  readonly deployRoleArn: pulumi.Input<string>;
  readonly pushRoleArn: pulumi.Input<string>;
  /** The ECR registry host, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com`. */
  readonly ecrRegistry: pulumi.Input<string>;
  /** Repository URL by service, e.g. `{ api: "<registry>/cutover/prod/api" }`. */
  readonly repositoryUrls: pulumi.Input<Record<string, string>>;
  readonly domain: string;
  /** The stack name the workflows pass to Pulumi. */
  readonly pulumiStack: string;
}

export interface GithubGovernanceArgs {
  /**
   * The repository, without its owner (the provider carries the owner). It must exist: cutover
   * never creates or deletes it.
   * @example "shop"
   */
  readonly repository: string;
  /** The stack's target; its GitHub environment has the same name. */
  readonly target: "dev" | "stage" | "prod";
  /**
   * Protect `main` and `develop` from this stack. Exactly one stack per repository does, or two
   * stacks would fight over the same rules.
   * @default false
   */
  readonly manageBranchProtection?: boolean;
  /** Status checks a pull request must pass: the workflow job names, as GitHub shows them. */
  readonly requiredChecks: readonly string[];
  /**
   * Who approves a deployment to this environment: team slugs and user logins (at most 6 each).
   * @default - nobody; prod refuses to go without
   */
  readonly reviewers?: { readonly teams: readonly string[]; readonly users: readonly string[] };
  readonly workflowValues: WorkflowValues;
  /**
   * Secrets of the environment by name. Values stay Pulumi secrets: they are encrypted in the
   * state, which holds them as the provider sends them to GitHub.
   * @default {}
   */
  readonly secrets?: Readonly<Record<string, pulumi.Input<string>>>;
}

/** The rules of one branch, as `github.BranchProtection` takes them. */
export type BranchRules = Omit<github.BranchProtectionArgs, "repositoryId">;

/** Branch protection of `main`. */
export function mainBranchProtection(requiredChecks: readonly string[]): BranchRules {
  return {
    pattern: DEPLOY_BRANCH,
    enforceAdmins: true,
    allowsForcePushes: false,
    allowsDeletions: false,
    requiredLinearHistory: true,
    requireConversationResolution: true,
    requiredPullRequestReviews: [
      {
        requiredApprovingReviewCount: 2,
        dismissStaleReviews: true,
        requireCodeOwnerReviews: true,
        requireLastPushApproval: true,
      },
    ],
    requiredStatusChecks: [{ strict: true, contexts: [...requiredChecks] }],
  };
}

/** Branch protection of `develop`: reviewed and checked, but lighter than `main`. */
export function developBranchProtection(requiredChecks: readonly string[]): BranchRules {
  return {
    pattern: INTEGRATION_BRANCH,
    allowsForcePushes: false,
    allowsDeletions: false,
    requiredPullRequestReviews: [{ requiredApprovingReviewCount: 1 }],
    requiredStatusChecks: [{ strict: false, contexts: [...requiredChecks] }],
  };
}

/**
 * The repository's governance for one target:
 * - the target's GitHub environment (`dev`, `stage` or `prod`), deployable from `main` only, with
 *   required reviewers who cannot approve their own runs when `reviewers` is set (prod);
 * - the environment's Actions variables (role ARNs, region, registry, repositories, domain,
 *   stack) and secrets, plus the repository-level variables pull-request previews read;
 * - in the one stack that manages it, branch protection of `main` and `develop`.
 *
 * Branch protection is `github.BranchProtection` rather than a `RepositoryRuleset`: its fields
 * are exactly the controls audited (CKV_GIT_5, CKV_GITHUB_5/10/11/14/18) and what the project's
 * policy pack reads, and one rule per branch keeps `main` and `develop` apart in one hop. Rulesets
 * layer (several can match a branch; bypass lists and `evaluate` mode change what is enforced), so
 * checking one resource's fields would not prove what GitHub enforces.
 */
export class GithubGovernance extends pulumi.ComponentResource {
  public readonly environment: github.RepositoryEnvironment;

  constructor(name: string, args: GithubGovernanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cutover:ci:GithubGovernance", name, {}, opts);
    validateGovernanceArgs(args, this);
    const parent = this;
    const repository = args.repository;

    if (args.manageBranchProtection) {
      protectBranch("main", mainBranchProtection(args.requiredChecks));
      protectBranch("develop", developBranchProtection(args.requiredChecks));
    }
    this.environment = createEnvironment();
    const environment = this.environment.environment;
    // Custom branch policies name `main` exactly; "protected branches" would admit `develop` too.
    new github.RepositoryEnvironmentDeploymentPolicy(
      `${name}-deploy-from-main`,
      { repository, environment, branchPattern: DEPLOY_BRANCH },
      { parent },
    );
    createVariables();
    for (const [secretName, value] of Object.entries(args.secrets ?? {})) {
      new github.ActionsEnvironmentSecret(
        `${name}-secret-${kebab(secretName)}`,
        { repository, environment, secretName, value: pulumi.secret(value) },
        { parent },
      );
    }
    this.registerOutputs({ environment: this.environment });

    function protectBranch(branch: string, rules: BranchRules) {
      return new github.BranchProtection(
        `${name}-${branch}-protection`,
        { repositoryId: repository, ...rules },
        { parent },
      );
    }

    function createEnvironment(): github.RepositoryEnvironment {
      const reviewers = args.reviewers;
      const gated = reviewers !== undefined && reviewers.teams.length + reviewers.users.length > 0;
      return new github.RepositoryEnvironment(
        `${name}-environment`,
        {
          repository,
          environment: args.target,
          deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true },
          reviewers: gated
            ? [
                {
                  teams: reviewers.teams.map((slug) =>
                    github.getTeamOutput({ slug, summaryOnly: true }, { parent }).id.apply(Number),
                  ),
                  users: reviewers.users.map((username) =>
                    github.getUserOutput({ username }, { parent }).id.apply(Number),
                  ),
                },
              ]
            : undefined,
          preventSelfReview: gated,
          // Admins bypassing the reviewers would make them advisory.
          canAdminsBypass: !gated,
        },
        { parent },
      );
    }

    function createVariables(): void {
      const values = args.workflowValues;
      const repositoryUrls = pulumi.output(values.repositoryUrls);
      const inEnvironment: Record<string, pulumi.Input<string>> = {
        [ENVIRONMENT_VARIABLES.awsRegion]: values.awsRegion,
        [ENVIRONMENT_VARIABLES.deployRoleArn]: values.deployRoleArn,
        [ENVIRONMENT_VARIABLES.pushRoleArn]: values.pushRoleArn,
        [ENVIRONMENT_VARIABLES.ecrRegistry]: values.ecrRegistry,
        [ENVIRONMENT_VARIABLES.ecrRepositories]: repositoryUrls.apply((urls) =>
          JSON.stringify(
            Object.fromEntries(Object.entries(urls).sort(([a], [b]) => a.localeCompare(b))),
          ),
        ),
        [ENVIRONMENT_VARIABLES.domain]: values.domain,
        [ENVIRONMENT_VARIABLES.pulumiStack]: values.pulumiStack,
      };
      for (const [variableName, value] of Object.entries(inEnvironment)) {
        new github.ActionsEnvironmentVariable(
          `${name}-var-${kebab(variableName)}`,
          { repository, environment, variableName, value },
          { parent },
        );
      }
      const names = repositoryVariables(args.target);
      const inRepository: Record<string, pulumi.Input<string>> = {
        [names.previewRoleArn]: values.previewRoleArn,
        [names.awsRegion]: values.awsRegion,
        [names.pulumiStack]: values.pulumiStack,
      };
      for (const [variableName, value] of Object.entries(inRepository)) {
        new github.ActionsVariable(
          `${name}-repo-var-${kebab(variableName)}`,
          { repository, variableName, value },
          { parent },
        );
      }
    }
  }
}

function validateGovernanceArgs(args: GithubGovernanceArgs, resource: pulumi.Resource): void {
  const reviewers = args.reviewers ?? { teams: [], users: [] };
  if (args.target === "prod" && reviewers.teams.length + reviewers.users.length === 0) {
    throw new pulumi.ResourceError(
      "the prod environment needs at least one reviewer team or user; set `github.prodReviewers`",
      resource,
    );
  }
}

/** `AWS_DEPLOY_ROLE_ARN` → `aws-deploy-role-arn`, for child resource names. */
function kebab(name: string): string {
  return name.toLowerCase().replace(/_/g, "-");
}
