import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { asList, dependencyUrns, isRecord, known, knownStrings, ofTypes } from "./common";
import { LOAD_BALANCER_TYPES } from "./elb";

export const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
export const SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
export const SECURITY_GROUP_INGRESS_RULE =
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
export const DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup";
export const FLOW_LOG = "aws:ec2/flowLog:FlowLog";
export const AWSX_VPC = "awsx:ec2:Vpc";
export const VPC = "aws:ec2/vpc:Vpc";

const WORLD = ["0.0.0.0/0", "::/0"];
/** The only ports the internet may reach: the load balancer's HTTP (redirect) and HTTPS. */
export const PUBLIC_PORTS = [80, 443];

/** One ingress rule open to the whole internet. */
export interface PublicIngress {
  readonly protocol: string;
  readonly fromPort?: number;
  readonly toPort?: number;
  readonly cidr: string;
}

/**
 * Ingress rules of a security group or a standalone rule resource that admit 0.0.0.0/0 or ::/0.
 * Reads the three ways AWS rules are written: inline `ingress` blocks, `aws.ec2.SecurityGroupRule`
 * (type ingress) and `aws.vpc.SecurityGroupIngressRule`.
 */
export function publicIngressOf(type: string, props: Record<string, unknown>): PublicIngress[] {
  const world = (cidrs: unknown[]) =>
    cidrs.filter((c): c is string => typeof c === "string" && WORLD.includes(c));
  const rule = (r: Record<string, unknown>, protocol: unknown, cidrs: unknown[]) =>
    world(cidrs).map((cidr) => ({
      protocol: String(protocol ?? "").toLowerCase(),
      fromPort: typeof r.fromPort === "number" ? r.fromPort : undefined,
      toPort: typeof r.toPort === "number" ? r.toPort : undefined,
      cidr,
    }));
  switch (type) {
    case SECURITY_GROUP:
      return asList(props.ingress)
        .filter(isRecord)
        .flatMap((r) =>
          rule(r, r.protocol, [...asList(r.cidrBlocks), ...asList(r.ipv6CidrBlocks)]),
        );
    case SECURITY_GROUP_RULE:
      return props.type === "ingress"
        ? rule(props, props.protocol, [
            ...asList(props.cidrBlocks),
            ...asList(props.ipv6CidrBlocks),
          ])
        : [];
    case SECURITY_GROUP_INGRESS_RULE:
      return rule(props, props.ipProtocol, [props.cidrIpv4, props.cidrIpv6]);
    default:
      return [];
  }
}

/** TCP to exactly port 80 or exactly port 443. */
export function isWebPort(rule: PublicIngress): boolean {
  return (
    (rule.protocol === "tcp" || rule.protocol === "6") &&
    rule.fromPort !== undefined &&
    rule.fromPort === rule.toPort &&
    PUBLIC_PORTS.includes(rule.fromPort)
  );
}

function describe(rule: PublicIngress): string {
  const ports =
    rule.protocol === "-1" || rule.protocol === "all"
      ? "all traffic"
      : `${rule.protocol} ${rule.fromPort ?? "?"}${rule.toPort !== rule.fromPort ? `-${rule.toPort ?? "?"}` : ""}`;
  return `${ports} from ${rule.cidr}`;
}

/**
 * A VPC as the stack shows it. An `awsx:ec2:Vpc` and the `aws:ec2/vpc:Vpc` it creates (its child
 * in real state) are one VPC: either's id or URN identifies it.
 */
interface VpcEntity {
  readonly resource: PolicyResource;
  readonly ids: Set<string>;
  readonly urns: Set<string>;
}

function vpcsOf(resources: readonly PolicyResource[]): VpcEntity[] {
  const entities = new Map<string, VpcEntity>();
  for (const r of ofTypes(resources, [AWSX_VPC])) {
    entities.set(r.urn, {
      resource: r,
      ids: new Set(knownStrings(() => r.props.vpcId)),
      urns: new Set([r.urn]),
    });
  }
  for (const r of ofTypes(resources, [VPC])) {
    const ids = knownStrings(() => r.props.id);
    const owner = r.parent?.type === AWSX_VPC ? entities.get(r.parent.urn) : undefined;
    if (owner) {
      ids.forEach((id) => owner.ids.add(id));
      owner.urns.add(r.urn);
    } else {
      entities.set(r.urn, { resource: r, ids: new Set(ids), urns: new Set([r.urn]) });
    }
  }
  return [...entities.values()];
}

/**
 * Does `property` of `resource` point at this VPC? By value when the id is known; by property
 * dependency otherwise (ids are unknown in a first preview; the dependency is not).
 */
function refersToVpc(resource: PolicyResource, property: string, vpc: VpcEntity): boolean {
  if (knownStrings(() => resource.props[property]).some((id) => vpc.ids.has(id))) return true;
  return [...dependencyUrns(resource, property)].some((urn) => vpc.urns.has(urn));
}

export const networkPolicies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
  {
    name: "sg-public-ingress-web-ports-only",
    description:
      "EC2.18 / EC2.19 / CKV_AWS_24 / CKV_AWS_25 / CKV_AWS_277: ingress from 0.0.0.0/0 or ::/0 is TCP 80 or 443 only, one port per rule.",
    severity: "critical",
    validateResource: (args, report) => {
      if (![SECURITY_GROUP, SECURITY_GROUP_RULE, SECURITY_GROUP_INGRESS_RULE].includes(args.type)) {
        args.notApplicable("not a security group or a security group rule");
      }
      for (const rule of publicIngressOf(args.type, args.props)) {
        if (!isWebPort(rule)) {
          report(
            `Ingress ${describe(rule)} is open to the internet; only TCP 80 and 443 (each its own ` +
              "rule, fromPort = toPort) may be, on the load balancer's group.",
          );
        }
      }
    },
  },
  {
    name: "sg-public-ingress-only-on-load-balancer",
    description:
      "EC2.18: only a security group attached to a load balancer admits traffic from 0.0.0.0/0 or ::/0.",
    severity: "critical",
    // A group counts as the load balancer's when a load balancer's `securityGroups` names its id,
    // or (ids are unknown in a first preview) when the load balancer's `securityGroups` property
    // depends on it. Descriptions are not trusted: any group can say anything.
    validateStack: (args, report) => {
      const groups = ofTypes(args.resources, [SECURITY_GROUP]);
      const lbs = ofTypes(args.resources, LOAD_BALANCER_TYPES);
      const lbGroupIds = new Set(lbs.flatMap((lb) => knownStrings(() => lb.props.securityGroups)));
      const lbGroupUrns = new Set(lbs.flatMap((lb) => [...dependencyUrns(lb, "securityGroups")]));
      const isLoadBalancerGroup = (g: PolicyResource) =>
        lbGroupUrns.has(g.urn) || knownStrings(() => g.props.id).some((id) => lbGroupIds.has(id));
      const isPublic = (r: PolicyResource) =>
        (known(() => publicIngressOf(r.type, r.props)) ?? []).length > 0;

      const exposed = new Set<PolicyResource>(groups.filter(isPublic));
      const publicRules = ofTypes(args.resources, [
        SECURITY_GROUP_RULE,
        SECURITY_GROUP_INGRESS_RULE,
      ]).filter(isPublic);
      if (exposed.size === 0 && publicRules.length === 0) args.notApplicable("no public ingress");
      for (const rule of publicRules) {
        const ids = knownStrings(() => rule.props.securityGroupId);
        const deps = dependencyUrns(rule, "securityGroupId");
        const group = groups.find(
          (g) => deps.has(g.urn) || knownStrings(() => g.props.id).some((id) => ids.includes(id)),
        );
        if (group) {
          exposed.add(group);
        } else {
          report(
            `${rule.name} opens a security group to the internet that is not in this stack, so ` +
              "it cannot be shown to be a load balancer's group.",
            rule.urn,
          );
        }
      }
      for (const group of exposed) {
        if (!isLoadBalancerGroup(group)) {
          report(
            `Security group ${group.name} admits traffic from the internet but no load balancer ` +
              "uses it; reach services through the load balancer instead.",
            group.urn,
          );
        }
      }
    },
  },
  {
    name: "vpc-flow-logs",
    description: "EC2.6 / CKV2_AWS_11: every VPC has a flow log.",
    severity: "medium",
    validateStack: (args, report) => {
      const vpcs = vpcsOf(args.resources);
      if (vpcs.length === 0) args.notApplicable("no VPC in the stack");
      const flowLogs = ofTypes(args.resources, [FLOW_LOG]);
      for (const vpc of vpcs) {
        if (!flowLogs.some((f) => refersToVpc(f, "vpcId", vpc))) {
          report(
            `VPC ${vpc.resource.name} has no flow log; add an aws.ec2.FlowLog with its vpcId.`,
            vpc.resource.urn,
          );
        }
      }
    },
  },
  {
    name: "vpc-default-security-group-closed",
    description:
      "EC2.2 / CKV2_AWS_12: every VPC's default security group is adopted with no ingress and no egress.",
    severity: "high",
    validateStack: (args, report) => {
      const vpcs = vpcsOf(args.resources);
      if (vpcs.length === 0) args.notApplicable("no VPC in the stack");
      const defaults = ofTypes(args.resources, [DEFAULT_SECURITY_GROUP]);
      for (const vpc of vpcs) {
        const mine = defaults.filter((d) => refersToVpc(d, "vpcId", vpc));
        if (mine.length === 0) {
          report(
            `VPC ${vpc.resource.name}'s default security group is not closed; adopt it with ` +
              "aws.ec2.DefaultSecurityGroup { vpcId, ingress: [], egress: [] }.",
            vpc.resource.urn,
          );
        }
        for (const d of mine) {
          // Adopting the group without rules removes them all: absent means none.
          const rules =
            asList(known(() => d.props.ingress)).length +
            asList(known(() => d.props.egress)).length;
          if (rules > 0) {
            report(
              `Default security group ${d.name} keeps ${rules} rule(s); set ingress: [] and egress: [].`,
              d.urn,
            );
          }
        }
      }
    },
  },
];
