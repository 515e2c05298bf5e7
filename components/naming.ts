import { createHash } from "crypto";

/**
 * AWS-side names. Pulumi names (the first constructor argument) are an API of the stack; the
 * physical names below are an API of the AWS account. Both must never change for a living
 * resource, so every function here is pure and deterministic.
 */

/** Length limits AWS enforces on the names cutover sets explicitly. */
export const LIMITS = {
  /** Application load balancer and target group names. */
  loadBalancer: 32,
  targetGroup: 32,
  /** IAM role names. */
  iamRole: 64,
  /** One DNS label. */
  dnsLabel: 63,
  /** A whole host name. */
  hostName: 253,
  /** One value of a listener rule's host-header condition. */
  hostHeaderValue: 128,
  /** ECR repository names. */
  ecrRepository: 256,
  /** CloudWatch alarm names. */
  alarm: 255,
} as const;

/** The 7-character short form of a commit SHA, as git prints it. */
export function shortSha(sha: string): string {
  return sha.slice(0, 7).toLowerCase();
}

/** A few hex characters of SHA-256 of `text`: stable across runs and machines. */
export function digest(text: string, length = 8): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/**
 * Joins `parts` with hyphens; when the result exceeds `maxLength`, keeps a readable prefix and
 * ends it with a hash of the full name so two long names never collapse into one.
 * The result only contains `[a-z0-9-]` and never starts or ends with a hyphen.
 */
export function physicalName(maxLength: number, ...parts: string[]): string {
  const full = parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  if (full.length <= maxLength) return full;
  const hash = digest(full, 8);
  const head = full.slice(0, maxLength - hash.length - 1).replace(/-+$/, "");
  return `${head}-${hash}`;
}

/** Host of one version of a service: `api-3f9c2ab.stage.example.com`. */
export function versionHost(service: string, sha: string, domain: string): string {
  return `${service}-${shortSha(sha)}.${domain}`;
}

/** The live host of a service: `api.stage.example.com`. */
export function liveHost(service: string, domain: string): string {
  return `${service}.${domain}`;
}

/**
 * Target group name of one version, e.g. `prod-api-3f9c2ab-1f2e` (≤ 32 characters). The port is
 * part of a target group's identity (changing it replaces the group) and a name must be unique,
 * so the name carries a short hash of the port: the replacement can then be created before the
 * old group is deleted.
 */
export function targetGroupName(
  target: string,
  service: string,
  sha: string,
  port: number,
): string {
  return physicalName(
    LIMITS.targetGroup,
    target,
    service,
    shortSha(sha),
    digest(`port:${port}`, 4),
  );
}

/** IAM role name for a target, e.g. `cutover-prod-deploy` (≤ 64 characters). */
export function roleName(project: string, target: string, ...role: string[]): string {
  return physicalName(LIMITS.iamRole, project, target, ...role);
}

/** ECR repository of a service: `<project>/<target>/<service>` (one IAM pattern per target). */
export function repositoryName(project: string, target: string, service: string): string {
  return `${physicalName(100, project)}/${target}/${service}`;
}

/**
 * Prefix of the target's access-log bucket (S3 adds a unique suffix; bucket names are global).
 * Pulumi allows at most 37 characters for a bucket prefix.
 */
export function accessLogBucketPrefix(project: string, target: string): string {
  return `${physicalName(36, project, target, "alb-logs")}-`;
}

/**
 * Extra tag the release command puts on the image of every deployed version; the repository's
 * lifecycle rules never expire an image carrying it. Removed when the version is retired.
 */
export function deployedImageTag(sha: string): string {
  return `deployed-${sha}`;
}

/** SSM parameter a running release holds as its lock, one per service. */
export function releaseLockParameterName(project: string, target: string, service: string): string {
  return `/${project}/${target}/release-locks/${service}`;
}

/** SSM parameter that holds the release state of one service. */
export function releaseParameterName(project: string, target: string, service: string): string {
  return `${releaseParameterPath(project, target)}${service}`;
}

/** SSM path under which every service's release state of a target lives (ends with `/`). */
export function releaseParameterPath(project: string, target: string): string {
  return `/${project}/${target}/releases/`;
}
