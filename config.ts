import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { z } from "zod";
import { defaultRuleBlock, MAX_RULE_BLOCK, planRoutes } from "./components/routing";
import { parseReleaseState, ReleaseState } from "./release/state";

/**
 * The only reader of `pulumi.Config`. Turns the stack file into a typed, validated `TargetConfig`
 * and refuses bad input before any resource is registered. Every message names the config key
 * and the fix.
 */

export type Target = "dev" | "stage" | "prod";
export type NatMode = "none" | "single" | "perAz";

/** Per-target defaults, in one place. dev is cheap, prod is safe. */
export const TARGET_DEFAULTS: Record<
  Target,
  {
    readonly nat: NatMode;
    readonly availabilityZones: number;
    readonly desiredCount: number;
    readonly logRetentionDays: number;
    readonly accessLogRetentionDays: number;
    readonly deletionProtection: boolean;
    readonly keepImages: number;
    readonly manageBranchProtection: boolean;
  }
> = {
  dev: {
    nat: "single",
    availabilityZones: 2,
    desiredCount: 1,
    logRetentionDays: 7,
    accessLogRetentionDays: 14,
    deletionProtection: false,
    keepImages: 30,
    manageBranchProtection: false,
  },
  stage: {
    nat: "single",
    availabilityZones: 2,
    desiredCount: 2,
    logRetentionDays: 30,
    accessLogRetentionDays: 30,
    deletionProtection: false,
    keepImages: 50,
    manageBranchProtection: false,
  },
  prod: {
    nat: "perAz",
    availabilityZones: 3,
    desiredCount: 2,
    logRetentionDays: 365,
    accessLogRetentionDays: 365,
    deletionProtection: true,
    keepImages: 100,
    manageBranchProtection: true,
  },
};

/** Fargate cpu units → the memory sizes (MiB) AWS accepts with them. */
export const FARGATE_SIZES: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
};

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

/** Longest service name: keeps `<service>-<sha7>` a DNS label with room to spare. */
export const MAX_SERVICE_NAME = 40;

export interface ServiceConfig {
  readonly name: string;
  readonly port: number;
  readonly healthCheckPath: string;
  readonly cpu: number;
  readonly memory: number;
  readonly desiredCount: number;
  readonly ruleBlock: number;
  readonly explicitBlock: boolean;
  readonly alarms: { readonly errorRatePercent: number; readonly p95LatencyMs: number };
  /** Plain, non-secret environment variables for the container. */
  readonly environment: Readonly<Record<string, string>>;
}

export interface GithubConfig {
  readonly owner: string;
  readonly repository: string;
  readonly manageBranchProtection: boolean;
  readonly requiredChecks: readonly string[];
  readonly prodReviewers: { readonly teams: readonly string[]; readonly users: readonly string[] };
  /** `create` the account's GitHub OIDC provider, or use the `existing` one (one per account). */
  readonly oidcProvider: "create" | "existing";
  /**
   * The `repo:` part of the OIDC `sub` claim GitHub issues for this repository. Repositories
   * created, renamed or transferred after 18 June 2026 (or opted in) carry immutable owner and
   * repository ids there; the repository's OIDC settings show the exact prefix.
   * @default - `repo:<owner>/<repository>`
   */
  readonly oidcSubjectPrefix: string;
}

export interface TargetConfig {
  readonly project: string;
  readonly stack: string;
  readonly region: string;
  readonly target: Target;
  readonly domain: string;
  readonly hostedZone: string;
  readonly compute: "ecs";
  readonly network: {
    readonly cidr: string;
    readonly availabilityZones: number;
    readonly nat: NatMode;
  };
  readonly services: readonly ServiceConfig[];
  /** Pinned release state per service, or `undefined` to read it from SSM. */
  readonly releases?: Readonly<Record<string, ReleaseState>>;
  readonly logRetentionDays: number;
  readonly accessLogRetentionDays: number;
  readonly deletionProtection: boolean;
  readonly keepImages: number;
  readonly notifications: { readonly emails: readonly string[] };
  readonly github?: GithubConfig;
  /** Secret values for the target's GitHub environment, by secret name. */
  readonly secrets: Readonly<Record<string, pulumi.Output<string>>>;
  /**
   * `GITHUB_TOKEN` from the environment, as a secret. An explicit GitHub provider given no token
   * reads the variable itself and can store it in the state unencrypted (pulumi-github#613).
   */
  readonly githubToken?: pulumi.Output<string>;
}

/** A refused configuration: every problem, each naming its key and the fix. */
export class ConfigError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(`cutover configuration is invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const SERVICE_NAME = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_NAME = /^[A-Z_][A-Z0-9_]*$/;
const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const GITHUB_REPO = /^[A-Za-z0-9._-]{1,100}$/;
const CHECK_NAME = /^[A-Za-z0-9][A-Za-z0-9 _./:()-]{0,99}$/;
const TEAM_SLUG = /^[a-z0-9][a-z0-9_-]{0,99}$/;
/** No wildcard, no `:` past `repo:`: the prefix names exactly one repository. */
const OIDC_SUBJECT_PREFIX = /^repo:[^\s*?:/]+\/[^\s*?:/]+$/;
/** GitHub accepts at most 6 teams and 6 users as the required reviewers of an environment. */
export const MAX_ENVIRONMENT_REVIEWERS = 6;
/** Secret-looking names are refused in plain `environment`: they belong in a secret store. */
const SECRET_LIKE = /(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIAL)/i;

const serviceSchema = z.strictObject({
  port: z.number().int().min(1, { error: "must be a TCP port from 1 to 65535" }).max(65535, {
    error: "must be a TCP port from 1 to 65535",
  }),
  healthCheckPath: z
    .string()
    .regex(/^\/[\x21-\x7e]{0,1023}$/, { error: "must be an absolute path such as /health" }),
  cpu: z.number().int(),
  memory: z.number().int(),
  desiredCount: z.number().int().min(0).max(100).optional(),
  ruleBlock: z
    .number()
    .int()
    .min(1, { error: `must be a whole number from 1 to ${MAX_RULE_BLOCK}` })
    .max(MAX_RULE_BLOCK, { error: `must be a whole number from 1 to ${MAX_RULE_BLOCK}` })
    .optional(),
  alarms: z
    .strictObject({
      errorRatePercent: z.number().gt(0).max(100).default(5),
      p95LatencyMs: z.number().int().min(1).max(60000).default(1000),
    })
    .optional(),
  environment: z
    .record(z.string(), z.string())
    .refine((env) => Object.keys(env).every((k) => ENV_NAME.test(k)), {
      error: "names must be environment variable names ([A-Za-z_][A-Za-z0-9_]*)",
    })
    .refine((env) => !Object.keys(env).some((k) => SECRET_LIKE.test(k)), {
      error:
        "holds a secret-looking name; plain environment is visible in the task definition, keep secrets out",
    })
    .optional(),
});

const githubSchema = z.strictObject({
  owner: z
    .string()
    .regex(GITHUB_LOGIN, { error: "must be a GitHub user or organization login, e.g. acme" }),
  repository: z
    .string()
    .regex(GITHUB_REPO, { error: "must be a repository name, e.g. shop (without the owner)" })
    .refine((r) => r !== "." && r !== "..", {
      error: "must be a repository name, e.g. shop (without the owner)",
    }),
  manageBranchProtection: z.boolean().optional(),
  requiredChecks: z
    .array(
      z.string().regex(CHECK_NAME, {
        error: (iss) =>
          `has ${JSON.stringify(iss.input)}; a check name is the job/status name as GitHub shows it (letters, digits, space, _ . / : ( ) -)`,
      }),
    )
    .min(1, { error: "must name at least one status check, e.g. [lint, test, plan]" })
    .refine((checks) => new Set(checks).size === checks.length, {
      error: "names a check twice; list each check once",
    })
    .default(["lint", "test", "plan"]),
  prodReviewers: z
    .strictObject({
      teams: z
        .array(
          z.string().regex(TEAM_SLUG, {
            error: (iss) =>
              `has ${JSON.stringify(iss.input)}; use the team's slug as in github.com/orgs/<owner>/teams/<slug>, e.g. platform`,
          }),
        )
        .max(MAX_ENVIRONMENT_REVIEWERS, {
          error: `lists more than ${MAX_ENVIRONMENT_REVIEWERS} teams; GitHub accepts at most ${MAX_ENVIRONMENT_REVIEWERS} per environment`,
        })
        .default([]),
      users: z
        .array(z.string().regex(GITHUB_LOGIN, { error: "must be GitHub logins" }))
        .max(MAX_ENVIRONMENT_REVIEWERS, {
          error: `lists more than ${MAX_ENVIRONMENT_REVIEWERS} users; GitHub accepts at most ${MAX_ENVIRONMENT_REVIEWERS} per environment`,
        })
        .default([]),
    })
    .default({ teams: [], users: [] }),
  oidcProvider: z
    .enum(["create", "existing"], { error: "must be `create` or `existing`" })
    .default("create"),
  oidcSubjectPrefix: z
    .string()
    .regex(OIDC_SUBJECT_PREFIX, {
      error: (iss) =>
        `is ${JSON.stringify(iss.input)}; write the exact prefix GitHub shows, e.g. repo:acme/shop, without wildcards`,
    })
    .optional(),
});

const topSchema = z.strictObject({
  target: z.enum(["dev", "stage", "prod"], {
    error: (iss) => `is ${JSON.stringify(iss.input)}; set \`cutover:target\` to dev, stage or prod`,
  }),
  domain: z
    .string()
    .regex(DNS_NAME, { error: "must be a lower-case DNS name such as stage.example.com" }),
  hostedZone: z
    .string()
    .regex(DNS_NAME, { error: "must be the name of a public Route53 zone such as example.com" }),
  compute: z
    .string()
    .default("ecs")
    .refine((c) => c === "ecs", {
      error: (iss) =>
        iss.input === "eks"
          ? "is eks; EKS is not available in cutover yet: set `cutover:compute` to ecs"
          : `is ${JSON.stringify(iss.input)}; set \`cutover:compute\` to ecs`,
    }),
  network: z.strictObject({
    cidr: z.string(),
    availabilityZones: z
      .number()
      .int()
      .min(2, {
        error: "must be at least 2: an application load balancer needs two availability zones",
      })
      .max(6, { error: "must be at most 6" })
      .optional(),
    nat: z.enum(["none", "single", "perAz"], { error: "must be none, single or perAz" }).optional(),
  }),
  services: z.record(z.string(), serviceSchema).refine((s) => Object.keys(s).length > 0, {
    error: "must define at least one service",
  }),
  releases: z.record(z.string(), z.unknown()).optional(),
  logRetentionDays: z
    .number()
    .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
      error: `must be one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(", ")}`,
    })
    .optional(),
  deletionProtection: z.boolean().optional(),
  notifications: z
    .strictObject({ emails: z.array(z.email({ error: "must be e-mail addresses" })).default([]) })
    .default({ emails: [] }),
  github: githubSchema.optional(),
  /** Names only: the values are read as secrets by `loadConfig`. */
  secrets: z.record(z.string(), z.unknown()).optional(),
});

export type RawConfig = Record<string, unknown>;

export interface ParseContext {
  readonly project: string;
  readonly stack: string;
  readonly region?: string;
  /** Is `cutover:secrets` stored encrypted? Plaintext secrets are refused. */
  readonly secretsEncrypted?: boolean;
  /** The GitHub provider's own stack config (`github:owner`, and whether `github:token` is set). */
  readonly githubProvider?: { readonly owner?: string; readonly tokenInConfig?: boolean };
}

/**
 * Validates raw config values (keys without the `cutover:` namespace, objects already parsed) and
 * applies the per-target defaults. Throws `ConfigError` listing every problem.
 */
export function parseConfig(
  raw: RawConfig,
  ctx: ParseContext,
): Omit<TargetConfig, "secrets"> & {
  readonly secretNames: readonly string[];
} {
  const problems: string[] = [];
  if (!ctx.region)
    problems.push(
      "`aws:region` is not set; run `pulumi config set aws:region eu-west-1` (or your region)",
    );

  const parsed = topSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(describeIssue(issue));
    throw new ConfigError(problems);
  }
  const c = parsed.data;
  const defaults = TARGET_DEFAULTS[c.target];

  if (c.domain !== c.hostedZone && !c.domain.endsWith(`.${c.hostedZone}`)) {
    problems.push(
      `\`domain\` ${c.domain} is not inside \`hostedZone\` ${c.hostedZone}; use a domain that ends with .${c.hostedZone}`,
    );
  }

  const availabilityZones = c.network.availabilityZones ?? defaults.availabilityZones;
  problems.push(...checkCidr(c.network.cidr));
  const nat = c.network.nat ?? defaults.nat;

  const services: ServiceConfig[] = [];
  for (const [name, s] of Object.entries(c.services).sort(([a], [b]) => a.localeCompare(b))) {
    const key = `services.${name}`;
    if (!SERVICE_NAME.test(name) || name.length > MAX_SERVICE_NAME) {
      problems.push(
        `\`${key}\`: ${JSON.stringify(name)} is not a usable service name; use lower-case letters, digits and ` +
          `hyphens, starting with a letter, at most ${MAX_SERVICE_NAME} characters (it becomes a DNS label)`,
      );
    }
    const memories = FARGATE_SIZES[s.cpu] ?? [];
    if (memories.length === 0) {
      problems.push(
        `\`${key}.cpu\` is ${s.cpu}; Fargate accepts ${Object.keys(FARGATE_SIZES).join(", ")} (cpu units)`,
      );
    } else if (!memories.includes(s.memory)) {
      problems.push(
        `\`${key}.memory\` is ${s.memory} with cpu ${s.cpu}; Fargate accepts ${describeSizes(memories)} MiB with that cpu`,
      );
    }
    const desiredCount = s.desiredCount ?? defaults.desiredCount;
    if (c.target === "prod" && desiredCount < 2) {
      problems.push(
        `\`${key}.desiredCount\` is ${desiredCount}; prod runs at least 2 tasks per version so one AZ can fail`,
      );
    }
    services.push({
      name,
      port: s.port,
      healthCheckPath: s.healthCheckPath,
      cpu: s.cpu,
      memory: s.memory,
      desiredCount,
      ruleBlock: s.ruleBlock ?? defaultRuleBlock(name),
      explicitBlock: s.ruleBlock !== undefined,
      alarms: s.alarms ?? { errorRatePercent: 5, p95LatencyMs: 1000 },
      environment: s.environment ?? {},
    });
  }

  let releases: Record<string, ReleaseState> | undefined;
  if (c.releases !== undefined) {
    releases = {};
    for (const [name, rawState] of Object.entries(c.releases)) {
      if (!services.some((s) => s.name === name)) {
        problems.push(
          `\`releases.${name}\` releases an unknown service; define \`services.${name}\` or remove it`,
        );
        continue;
      }
      const { state, errors } = parseReleaseState(rawState, `\`releases.${name}\``);
      problems.push(...errors);
      if (state) releases[name] = state;
    }
    problems.push(...planRoutes(services, releases, c.domain).errors);
  } else {
    problems.push(...planRoutes(services, {}, c.domain).errors);
  }

  const secretNames = Object.keys(c.secrets ?? {});
  for (const name of secretNames) {
    if (!SECRET_NAME.test(name) || name.startsWith("GITHUB_")) {
      problems.push(
        `\`secrets.${name}\` is not a usable GitHub secret name; use upper-case letters, digits and _, not starting with GITHUB_`,
      );
    }
  }
  if (secretNames.length > 0 && ctx.secretsEncrypted === false) {
    problems.push(
      "`secrets` is stored in plaintext; remove it and set each value with " +
        "`pulumi config set --secret --path 'secrets.NAME' <value>`",
    );
  }

  if (ctx.githubProvider?.tokenInConfig) {
    problems.push(
      "`github:token` is set in the stack config; remove it (`pulumi config rm github:token`) and export GITHUB_TOKEN where pulumi runs instead",
    );
  }
  let github: GithubConfig | undefined;
  if (c.github) {
    const manageBranchProtection =
      c.github.manageBranchProtection ?? defaults.manageBranchProtection;
    const reviewers = c.github.prodReviewers;
    if (c.target === "prod" && reviewers.teams.length + reviewers.users.length === 0) {
      problems.push(
        "`github.prodReviewers` is empty; prod deployments need at least one reviewer team or user, e.g. { teams: [platform] }",
      );
    }
    const providerOwner = ctx.githubProvider?.owner;
    if (providerOwner !== undefined && providerOwner !== c.github.owner) {
      problems.push(
        `\`github:owner\` is ${providerOwner} but \`github.owner\` is ${c.github.owner}; both name the repository's owner, make them equal`,
      );
    }
    github = {
      ...c.github,
      manageBranchProtection,
      oidcSubjectPrefix:
        c.github.oidcSubjectPrefix ?? `repo:${c.github.owner}/${c.github.repository}`,
    };
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    project: ctx.project,
    stack: ctx.stack,
    region: ctx.region!,
    target: c.target,
    domain: c.domain,
    hostedZone: c.hostedZone,
    compute: "ecs",
    network: { cidr: c.network.cidr, availabilityZones, nat },
    services,
    releases,
    logRetentionDays: c.logRetentionDays ?? defaults.logRetentionDays,
    accessLogRetentionDays: defaults.accessLogRetentionDays,
    deletionProtection: c.deletionProtection ?? defaults.deletionProtection,
    keepImages: defaults.keepImages,
    notifications: c.notifications,
    github,
    secretNames,
  };
}

function describeSizes(memories: readonly number[]): string {
  if (memories.length <= 4) return memories.join(", ");
  return `${memories[0]} to ${memories[memories.length - 1]} in steps of ${memories[1] - memories[0]}`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    const where = key ? `\`${key}\`` : "cutover config";
    const names = issue.keys.map((k) => (key ? `\`${key}.${k}\`` : `\`cutover:${k}\``)).join(", ");
    return `${names} is not a setting of ${where}; check the spelling (see the README's config reference) or remove it`;
  }
  if (issue.code === "invalid_type" && issue.input === undefined) {
    return `\`${key}\` is required; set it in Pulumi.<stack>.yaml (see the README's config reference)`;
  }
  if (issue.code === "invalid_type") {
    return `\`${key}\` must be ${issue.expected === "object" ? "a map" : `a ${issue.expected}`}`;
  }
  return `\`${key}\` ${issue.message}`;
}

/**
 * Subnet sizes cutover lays out: the VPC block is cut into 8 equal AZ blocks whatever the AZ
 * count (at most 6), and each AZ uses a private subnet (half its block) and a public one (a
 * quarter). A fixed cut means adding an AZ later only appends subnets: with a cut that depended on
 * the count, every existing subnet would move and its replacement would collide with itself.
 */
export const AZ_BLOCK_BITS = 3;

export function subnetPlan(cidr: string): {
  azMask: number;
  privateMask: number;
  publicMask: number;
} {
  const prefix = Number(cidr.split("/")[1]);
  const azMask = prefix + AZ_BLOCK_BITS;
  return { azMask, privateMask: azMask + 1, publicMask: azMask + 2 };
}

/** The smallest public subnet an ALB accepts is a /27. */
const SMALLEST_SUBNET = 27;

function checkCidr(cidr: string): string[] {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : NaN;
  if (!m || octets.some((o) => o > 255) || prefix > 32) {
    return [
      `\`network.cidr\` is ${JSON.stringify(cidr)}; write an IPv4 CIDR block such as 10.20.0.0/16`,
    ];
  }
  if (prefix < 16 || prefix > 28) {
    return [
      `\`network.cidr\` is /${prefix}; a VPC takes a block from /16 to /28, e.g. 10.20.0.0/16`,
    ];
  }
  const address = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  if (address % size !== 0) {
    const base = address - (address % size);
    const text = [24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".");
    return [`\`network.cidr\` ${cidr} has host bits set; did you mean ${text}/${prefix}?`];
  }
  const [a, b] = octets;
  const isPrivate = a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  if (!isPrivate) {
    return [
      `\`network.cidr\` ${cidr} is not a private (RFC 1918) range; use 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16`,
    ];
  }
  const { publicMask } = subnetPlan(cidr);
  if (publicMask > SMALLEST_SUBNET) {
    const need = SMALLEST_SUBNET - 2 - AZ_BLOCK_BITS;
    return [
      `\`network.cidr\` /${prefix} is too small: cut into 8 availability-zone blocks its public subnets would be ` +
        `/${publicMask}, and an ALB needs at least /${SMALLEST_SUBNET}; use /${need} or larger`,
    ];
  }
  return [];
}

/**
 * Reads the stack's config through `pulumi.Config` and validates it. Secrets are read from
 * `cutover:secrets` and wrapped with `pulumi.secret` at once; they never appear in messages.
 */
export function loadConfig(): TargetConfig {
  const raw: RawConfig = {};
  const all = pulumi.runtime.allConfig();
  for (const [key, value] of Object.entries(all)) {
    if (!key.startsWith("cutover:")) continue;
    raw[key.slice("cutover:".length)] = parseValue(value);
  }
  const region = new pulumi.Config("aws").get("region");
  const secretsEncrypted =
    raw.secrets === undefined ? undefined : isConfigSecret("cutover:secrets");
  const parsed = parseConfig(raw, {
    project: pulumi.getProject(),
    stack: pulumi.getStack(),
    region,
    secretsEncrypted,
    githubProvider: { owner: all["github:owner"], tokenInConfig: "github:token" in all },
  });
  if (parsed.secretNames.length > 0 && !parsed.github) {
    pulumi.log.warn(
      "`cutover:secrets` is set but `cutover:github` is not; secrets become secrets of the target's GitHub environment, so they are unused",
    );
  }
  const secretValues = (raw.secrets ?? {}) as Record<string, unknown>;
  const secrets = Object.fromEntries(
    parsed.secretNames.map((name) => [name, pulumi.secret(String(secretValues[name]))]),
  );
  const { secretNames: _unused, ...rest } = parsed;
  void _unused;
  const token = process.env.GITHUB_TOKEN;
  const githubToken = token ? pulumi.secret(token) : undefined;
  return { ...rest, secrets, githubToken };
}

/**
 * `isConfigSecret` is exported by the SDK's runtime but missing from its type declarations.
 * Without it (an older SDK) a value is assumed encrypted: the plaintext check is then skipped.
 */
function isConfigSecret(key: string): boolean {
  const fn = (runtimeConfig as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  return fn ? fn(key) : true;
}

/** Config values arrive as strings; objects, numbers and booleans as their JSON text. */
function parseValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
