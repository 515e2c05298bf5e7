import { digest, liveHost, LIMITS, versionHost } from "./naming";
import { LiveTarget, ReleaseState } from "../release/state";

/**
 * Listener-rule priorities, host names and the ALB quotas: the pure part of blue/green routing.
 *
 * Each service owns a block of 100 priorities, `block*100 … block*100+99`. Its live rule sits at
 * `block*100`; each version sits at `block*100 + slot`, where the slot is recorded in the release
 * state when the version is staged. Neither the block (hash of the service name, or an explicit
 * `ruleBlock`) nor a slot ever changes while the rule exists, because changing a priority replaces
 * the rule and the swap fails with `PriorityInUse`.
 */

/** ALB quotas (per load balancer). Listener rules are raisable on request; target groups are not. */
export const ALB_QUOTAS = {
  rulesPerListener: 100,
  targetGroupsPerLoadBalancer: 100,
  targetGroupsPerForwardAction: 5,
} as const;

export const MAX_RULE_BLOCK = 499;

/** The default priority block of a service: a hash of its name, 1–499. */
export function defaultRuleBlock(service: string): number {
  return (parseInt(digest(service, 8), 16) % MAX_RULE_BLOCK) + 1;
}

export function livePriority(block: number): number {
  return block * 100;
}

export function versionPriority(block: number, slot: number): number {
  return block * 100 + slot;
}

export interface RoutedService {
  readonly name: string;
  readonly ruleBlock: number;
  /** Was the block set explicitly (`services.<name>.ruleBlock`)? Only used for messages. */
  readonly explicitBlock: boolean;
}

export interface Route {
  readonly host: string;
  readonly service: string;
  readonly priority: number;
  /** `live` rules forward to the live versions; `version` rules to one version. */
  readonly kind: "live" | "version";
  /** Versions this host forwards to, with weights; empty = fixed 503 "no release yet". */
  readonly targets: readonly LiveTarget[];
}

/**
 * Every host of a target with its rule priority and targets, or the reasons it cannot exist.
 * Checks: rule blocks unique, host names unique and within DNS limits, the ALB quotas.
 */
export function planRoutes(
  services: readonly RoutedService[],
  releases: Readonly<Record<string, ReleaseState>>,
  domain: string,
): { routes: Route[]; errors: string[] } {
  const errors: string[] = [];
  const routes: Route[] = [];

  const blocks = new Map<number, RoutedService>();
  for (const svc of services) {
    const other = blocks.get(svc.ruleBlock);
    if (other) {
      const which = svc.explicitBlock ? svc : other.explicitBlock ? other : svc;
      errors.push(
        `\`services.${other.name}\` and \`services.${svc.name}\` both take listener-rule block ${svc.ruleBlock}; ` +
          `set \`services.${which.name}.ruleBlock\` to an unused number from 1 to ${MAX_RULE_BLOCK} ` +
          "(before its first deploy: it must never change afterwards)",
      );
    }
    blocks.set(svc.ruleBlock, svc);
  }

  for (const svc of services) {
    const state = releases[svc.name] ?? { versions: [], live: [] };
    routes.push({
      host: liveHost(svc.name, domain),
      service: svc.name,
      priority: livePriority(svc.ruleBlock),
      kind: "live",
      targets: state.live,
    });
    for (const v of state.versions) {
      routes.push({
        host: versionHost(svc.name, v.sha, domain),
        service: svc.name,
        priority: versionPriority(svc.ruleBlock, v.slot),
        kind: "version",
        targets: [{ sha: v.sha, weight: 100 }],
      });
    }
  }

  const hosts = new Map<string, Route>();
  for (const route of routes) {
    const other = hosts.get(route.host);
    if (other) {
      errors.push(
        `host ${route.host} would serve both service \`${other.service}\` and service \`${route.service}\`; ` +
          `rename \`services.${route.service}\` so its name does not end in -<7 hex characters>`,
      );
    }
    hosts.set(route.host, route);
    const label = route.host.split(".")[0];
    if (
      label.length > LIMITS.dnsLabel ||
      route.host.length > LIMITS.hostName ||
      route.host.length > LIMITS.hostHeaderValue
    ) {
      errors.push(
        `host ${route.host} is longer than DNS or an ALB host rule (${LIMITS.hostHeaderValue} characters) allows; ` +
          `shorten \`services.${route.service}\` or \`domain\``,
      );
    }
  }

  const versionCount = Object.values(releases).reduce((n, r) => n + r.versions.length, 0);
  const ruleCount = routes.length;
  if (
    ruleCount > ALB_QUOTAS.rulesPerListener ||
    versionCount > ALB_QUOTAS.targetGroupsPerLoadBalancer
  ) {
    const perService = services.length === 0 ? 0 : Math.ceil(versionCount / services.length);
    const fit = Math.floor(ALB_QUOTAS.rulesPerListener / (1 + Math.max(perService, 1)));
    errors.push(
      `${services.length} services with ${versionCount} deployed versions need ${ruleCount} listener rules and ` +
        `${versionCount} target groups; one ALB allows ${ALB_QUOTAS.rulesPerListener} rules and ` +
        `${ALB_QUOTAS.targetGroupsPerLoadBalancer} target groups, so at most ${fit} services with ` +
        `${Math.max(perService, 1)} version(s) each fit: retire versions (\`keep\`) or split the services across targets`,
    );
  }
  return { routes, errors };
}
