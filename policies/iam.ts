import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import {
  actionsOf,
  asList,
  isAllow,
  isRecord,
  PolicyStatement,
  statementLabel,
  statementsOf,
} from "./common";

export const ROLE = "aws:iam/role:Role";

/** Where each IAM resource type keeps its policy documents (JSON strings or objects). */
const DOCUMENTS: Readonly<
  Record<string, (props: Record<string, unknown>) => { label: string; document: unknown }[]>
> = {
  [ROLE]: (p) => [
    { label: "assumeRolePolicy", document: p.assumeRolePolicy },
    ...asList(p.inlinePolicies)
      .filter(isRecord)
      .map((inline, i) => ({ label: `inlinePolicies[${i}]`, document: inline.policy })),
  ],
  "aws:iam/rolePolicy:RolePolicy": (p) => [{ label: "policy", document: p.policy }],
  "aws:iam/policy:Policy": (p) => [{ label: "policy", document: p.policy }],
  "aws:iam/userPolicy:UserPolicy": (p) => [{ label: "policy", document: p.policy }],
  "aws:iam/groupPolicy:GroupPolicy": (p) => [{ label: "policy", document: p.policy }],
};

/** Where each IAM resource type names AWS managed policies it attaches. */
const ATTACHMENTS: Readonly<Record<string, (props: Record<string, unknown>) => unknown[]>> = {
  [ROLE]: (p) => asList(p.managedPolicyArns),
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (p) => [p.policyArn],
  "aws:iam/userPolicyAttachment:UserPolicyAttachment": (p) => [p.policyArn],
  "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": (p) => [p.policyArn],
  "aws:iam/policyAttachment:PolicyAttachment": (p) => [p.policyArn],
};

const IAM_TYPES = [...new Set([...Object.keys(DOCUMENTS), ...Object.keys(ATTACHMENTS)])];

function managedPolicy(arn: unknown, name: string): boolean {
  return (
    typeof arn === "string" && new RegExp(`^arn:aws[\\w-]*:iam::aws:policy/${name}$`).test(arn)
  );
}

/**
 * Runs `check` on every statement of every policy document of an IAM resource, and `attached`
 * on every managed policy ARN it attaches. A document that cannot be read is a violation: AWS
 * would refuse it, and a rule must not pass what it cannot read.
 */
function eachStatement(
  check: (statement: PolicyStatement, where: string, report: ReportViolation) => void,
  attached?: (arn: unknown, report: ReportViolation) => void,
) {
  return (args: ResourceValidationArgs, report: ReportViolation) => {
    if (!IAM_TYPES.includes(args.type)) args.notApplicable("not an IAM policy holder");
    for (const { label, document } of DOCUMENTS[args.type]?.(args.props) ?? []) {
      if (document === undefined) continue;
      const statements = statementsOf(document);
      if (!statements) {
        report(`\`${label}\` is not an IAM policy document (JSON with a Statement).`);
        continue;
      }
      statements.forEach((s, i) => check(s, `\`${label}\` ${statementLabel(s, i)}`, report));
    }
    for (const arn of ATTACHMENTS[args.type]?.(args.props) ?? []) attached?.(arn, report);
  };
}

/** The GitHub Actions OIDC issuer, and the claims its trust conditions must pin. */
export const GITHUB_OIDC = "token.actions.githubusercontent.com";
const AUD = `${GITHUB_OIDC}:aud`;
const SUB = `${GITHUB_OIDC}:sub`;

/** Values of `Condition[operator][key]`, keys compared case-insensitively as IAM does. */
function conditionValues(condition: unknown, operator: string, key: string): unknown[] {
  if (!isRecord(condition) || !isRecord(condition[operator])) return [];
  const block = condition[operator];
  return Object.entries(block)
    .filter(([k]) => k.toLowerCase() === key.toLowerCase())
    .flatMap(([, v]) => asList(v));
}

/** Does the statement trust the GitHub OIDC provider? */
function trustsGithub(statement: PolicyStatement): boolean {
  const principal = statement.Principal;
  if (!isRecord(principal)) return false;
  return asList(principal.Federated).some(
    (p) => typeof p === "string" && p.toLowerCase().includes(GITHUB_OIDC),
  );
}

/**
 * Is this `sub` pattern wide open? `*`, a wildcard in the owner or repository, or the bare
 * `repo:OWNER/REPO:*` (any branch, tag, environment or pull request of the repository).
 */
export function isBroadSubject(sub: string): boolean {
  if (sub === "*" || sub === "repo:*") return true;
  const m = /^repo:([^:]*):(.*)$/.exec(sub);
  if (!m) return false;
  const [, repository, rest] = m;
  return /[*?]/.test(repository) || rest === "*" || rest === "";
}

export const iamPolicies: ResourceValidationPolicy[] = [
  {
    name: "iam-no-wildcard-admin",
    description:
      'IAM.1 / CKV_AWS_62 / CKV_AWS_63: no IAM statement allows Action "*" or "*:*", and AdministratorAccess is not attached.',
    severity: "critical",
    validateResource: eachStatement(
      (s, where, report) => {
        const wild = actionsOf(s).filter((a) => a === "*" || a === "*:*");
        if (isAllow(s) && wild.length > 0) {
          report(
            `${where} allows Action ${JSON.stringify(wild[0])}: full admin. List the actions.`,
          );
        }
      },
      (arn, report) => {
        if (managedPolicy(arn, "AdministratorAccess")) {
          report(`${String(arn)} is full admin; attach a policy that lists the actions needed.`);
        }
      },
    ),
  },
  {
    name: "iam-no-iam-wildcard",
    description:
      'IAM.21: no IAM statement allows "iam:*" (it can grant itself anything), and IAMFullAccess is not attached.',
    severity: "critical",
    validateResource: eachStatement(
      (s, where, report) => {
        if (isAllow(s) && actionsOf(s).some((a) => a.toLowerCase() === "iam:*")) {
          report(`${where} allows "iam:*"; list the IAM actions needed.`);
        }
      },
      (arn, report) => {
        if (managedPolicy(arn, "IAMFullAccess")) {
          report(`${String(arn)} allows iam:*; attach a policy that lists the actions needed.`);
        }
      },
    ),
  },
  {
    name: "iam-github-oidc-trust",
    description:
      "CUTOVER-OIDC: a role trusting GitHub OIDC pins aud = sts.amazonaws.com (StringEquals) and a scoped sub (StringEquals/StringLike), never under ForAllValues:/ForAnyValue:.",
    severity: "critical",
    validateResource: (args, report) => {
      if (args.type !== ROLE) args.notApplicable("only role trust policies trust GitHub");
      const statements = statementsOf(args.props.assumeRolePolicy) ?? [];
      const github = statements
        .map((s, i) => ({ s, where: `\`assumeRolePolicy\` ${statementLabel(s, i)}` }))
        .filter(({ s }) => isAllow(s) && trustsGithub(s));
      if (github.length === 0) args.notApplicable("the role does not trust GitHub OIDC");
      for (const { s, where } of github) checkGithubTrust(s, where, report);
    },
  },
];

function checkGithubTrust(s: PolicyStatement, where: string, report: ReportViolation): void {
  const condition = isRecord(s.Condition) ? s.Condition : {};
  // Set operators on single-valued claims: ForAllValues passes when the claim is absent.
  for (const [operator, block] of Object.entries(condition)) {
    if (!/^(ForAllValues|ForAnyValue):/i.test(operator) || !isRecord(block)) continue;
    if (Object.keys(block).some((k) => k.toLowerCase().startsWith(`${GITHUB_OIDC}:`))) {
      report(`${where} tests GitHub claims under ${operator}; use StringEquals/StringLike.`);
    }
  }
  const aud = conditionValues(condition, "StringEquals", AUD);
  if (aud.length === 0 || aud.some((v) => v !== "sts.amazonaws.com")) {
    report(`${where} must have StringEquals "${AUD}": "sts.amazonaws.com".`);
  }
  const subs = [
    ...conditionValues(condition, "StringEquals", SUB),
    ...conditionValues(condition, "StringLike", SUB),
  ];
  if (subs.length === 0) {
    report(
      `${where} has no "${SUB}" condition: any repository's workflow could assume the role. ` +
        'Pin it, e.g. StringEquals "repo:OWNER/REPO:environment:prod".',
    );
  }
  for (const sub of subs) {
    // A pull_request sub (`repo:OWNER/REPO:pull_request`) is scoped: it is never broad.
    if (typeof sub !== "string") continue;
    if (isBroadSubject(sub)) {
      report(
        `${where} trusts sub ${JSON.stringify(sub)}: every branch and workflow of the repository. ` +
          'Scope it to an environment or ref, e.g. "repo:OWNER/REPO:environment:prod".',
      );
    }
  }
}
