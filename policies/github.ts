import * as github from "@pulumi/github";
import {
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  validateResourceOfType,
} from "@pulumi/policy";

/** The branch releases are cut from: its protection is what the rules below demand. */
export const MAIN_BRANCH = "main";
/** Approvals a pull request into main needs (CKV_GIT_5). */
export const MIN_APPROVALS = 2;

type BranchProtectionProps = {
  pattern?: string;
  enforceAdmins?: boolean;
  allowsForcePushes?: boolean;
  allowsDeletions?: boolean;
  requiredPullRequestReviews?: {
    requiredApprovingReviewCount?: number;
    dismissStaleReviews?: boolean;
  }[];
  requiredStatusChecks?: { strict?: boolean }[];
};

/** A rule on the protection of `main`; other patterns are not applicable. Absent = provider default. */
function onMain(
  check: (bp: BranchProtectionProps, report: ReportViolation) => void,
): ReturnType<typeof validateResourceOfType> {
  return validateResourceOfType(
    github.BranchProtection,
    (bp: BranchProtectionProps, args: ResourceValidationArgs, report: ReportViolation) => {
      if (bp.pattern !== MAIN_BRANCH) args.notApplicable(`pattern is not ${MAIN_BRANCH}`);
      check(bp, report);
    },
  );
}

export const githubPolicies: ResourceValidationPolicy[] = [
  {
    name: "github-main-two-approvals",
    description: `CKV_GIT_5: pull requests into main need at least ${MIN_APPROVALS} approving reviews.`,
    severity: "high",
    validateResource: onMain((bp, report) => {
      // No review block: no review needed. In the block the provider default is 1.
      const reviews = bp.requiredPullRequestReviews?.[0];
      const count = reviews ? (reviews.requiredApprovingReviewCount ?? 1) : 0;
      if (count < MIN_APPROVALS) {
        report(
          `main needs ${count} approval(s); set requiredPullRequestReviews[0].requiredApprovingReviewCount >= ${MIN_APPROVALS}.`,
        );
      }
    }),
  },
  {
    name: "github-main-dismiss-stale-reviews",
    description: "CKV_GITHUB_11: a new push to a pull request into main dismisses its approvals.",
    severity: "medium",
    validateResource: onMain((bp, report) => {
      // Provider default: false.
      if (bp.requiredPullRequestReviews?.[0]?.dismissStaleReviews !== true) {
        report("Set requiredPullRequestReviews[0].dismissStaleReviews: true.");
      }
    }),
  },
  {
    name: "github-main-no-force-push",
    description: "CKV_GITHUB_5: nobody can force-push to main.",
    severity: "high",
    validateResource: onMain((bp, report) => {
      // Provider default: false.
      if (bp.allowsForcePushes === true) report("Set allowsForcePushes: false on main.");
    }),
  },
  {
    name: "github-main-no-deletion",
    description: "CKV_GITHUB_18: main cannot be deleted.",
    severity: "high",
    validateResource: onMain((bp, report) => {
      // Provider default: false.
      if (bp.allowsDeletions === true) report("Set allowsDeletions: false on main.");
    }),
  },
  {
    name: "github-main-enforce-admins",
    description: "CKV_GITHUB_10: the protection of main applies to administrators too.",
    severity: "high",
    validateResource: onMain((bp, report) => {
      // Provider default: false.
      if (bp.enforceAdmins !== true) report("Set enforceAdmins: true on main.");
    }),
  },
  {
    name: "github-main-strict-status-checks",
    description:
      "CKV_GITHUB_14: pull requests into main pass the required status checks on an up-to-date branch (strict).",
    severity: "medium",
    validateResource: onMain((bp, report) => {
      // Provider default: no required checks; inside the block `strict` defaults to false.
      if (bp.requiredStatusChecks?.[0]?.strict !== true) {
        report("Set requiredStatusChecks: [{ strict: true, contexts: [...] }] on main.");
      }
    }),
  },
];
