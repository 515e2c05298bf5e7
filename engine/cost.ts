import { RecordedResource } from "./mocks";
import { PRICE_SOURCES, pricesFor, RegionPrices } from "./prices";

/**
 * The plan's estimate of what a target's standing resources cost per month, from the resources the
 * offline engine recorded and the price table in prices.ts. Pure: no I/O, no Pulumi runtime.
 *
 * It is an estimate, not a quote: on-demand list prices, traffic-driven charges from assumed
 * volumes (printed with the estimate), and several small charges left out (listed too).
 */

export interface CostAssumptions {
  /** Hours in a month; every standing resource runs all month. */
  readonly hoursPerMonth: number;
  /** Average load balancer capacity units (LCUs) each load balancer uses per hour. */
  readonly lcuPerLoadBalancer: number;
  /** GB per running task per month that leave the private subnets (image pulls, API calls). */
  readonly egressGbPerTaskMonth: number;
  /** GB of logs per running task per month ingested into CloudWatch Logs. */
  readonly logGbPerTaskMonth: number;
}

export const DEFAULT_ASSUMPTIONS: CostAssumptions = {
  hoursPerMonth: 730,
  lcuPerLoadBalancer: 1,
  egressGbPerTaskMonth: 5,
  logGbPerTaskMonth: 1,
};

/** Charges the estimate leaves out, printed with it. */
export const NOT_INCLUDED: readonly string[] = [
  "data transfer out to the internet and between AZs",
  "ECR image storage and S3 access-log storage",
  "VPC flow log ingestion and log storage",
  "Container Insights metrics",
  "Route 53 queries, KMS requests, SNS deliveries",
  "free tier, Savings Plans and Spot discounts",
];

export interface CostLine {
  /** What is billed, e.g. "NAT gateways". */
  readonly item: string;
  /** How much of it, e.g. "3 × 730 h (OnePerAz over 3 AZs)". */
  readonly quantity: string;
  readonly monthlyUsd: number;
  /** The pricing page the rate comes from. */
  readonly source: string;
}

export type CostEstimate =
  | {
      readonly available: true;
      readonly region: string;
      readonly currency: "USD";
      readonly asOf: string;
      readonly lines: readonly CostLine[];
      readonly totalMonthlyUsd: number;
      readonly assumptions: readonly string[];
      readonly notIncluded: readonly string[];
      readonly sources: readonly string[];
    }
  | {
      readonly available: false;
      readonly region: string;
      /** Why there is no estimate, e.g. no prices for the region. */
      readonly reason: string;
    };

/** One ECS service on Fargate with the size of its tasks, as recorded. */
export interface FargateService {
  readonly urn: string;
  /** The ECS service name (e.g. `api-3f9c2ab`). */
  readonly name: string;
  readonly desiredCount: number;
  /** Task size in CPU units and MiB; undefined when the task definition was not found. */
  readonly cpu?: number;
  readonly memory?: number;
  readonly architecture: "x86" | "arm";
}

const TYPES = {
  vpc: "awsx:ec2:Vpc",
  natGateway: "aws:ec2/natGateway:NatGateway",
  eip: "aws:ec2/eip:Eip",
  loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
  awsxLoadBalancer: "awsx:lb:ApplicationLoadBalancer",
  ecsService: "aws:ecs/service:Service",
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
  vpcEndpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
  kmsKey: "aws:kms/key:Key",
  kmsReplicaKey: "aws:kms/replicaKey:ReplicaKey",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  eksCluster: "aws:eks/cluster:Cluster",
  eksComponent: "eks:index:Cluster",
} as const;

/** awsx defaults when the Vpc's inputs leave them out. */
const AWSX_DEFAULT_AZS = 3;
const AWSX_DEFAULT_NAT_STRATEGY = "OnePerAz";

/** Every ECS service that runs on Fargate, with its task size (for the cost and the diagram). */
export function fargateServices(resources: readonly RecordedResource[]): FargateService[] {
  const taskDefinitions = resources.filter((r) => r.type === TYPES.taskDefinition);
  return resources
    .filter((r) => r.type === TYPES.ecsService && runsOnFargate(r.inputs))
    .map((service) => {
      const ref = service.inputs.taskDefinition;
      const task =
        taskDefinitions.find((t) => ref !== undefined && (t.state.arn === ref || t.id === ref)) ??
        taskDefinitions.find((t) => t.parent !== undefined && t.parent === service.parent);
      const platform = (task?.inputs.runtimePlatform ?? {}) as { cpuArchitecture?: string };
      return {
        urn: service.urn,
        name: typeof service.inputs.name === "string" ? service.inputs.name : service.name,
        // The provider's default desired count is 0.
        desiredCount: toNumber(service.inputs.desiredCount) ?? 0,
        cpu: taskSize(task?.inputs.cpu, "vcpu"),
        memory: taskSize(task?.inputs.memory, "gb"),
        architecture: platform.cpuArchitecture === "ARM64" ? "arm" : "x86",
      };
    });
}

function runsOnFargate(inputs: Record<string, unknown>): boolean {
  if (inputs.launchType === "FARGATE") return true;
  const strategies = (inputs.capacityProviderStrategies ?? []) as { capacityProvider?: string }[];
  return strategies.some((s) => String(s.capacityProvider ?? "").startsWith("FARGATE"));
}

/** ECS takes task sizes as units ("512", "2048") or with a unit ("0.5 vCPU", "2 GB"). */
function taskSize(value: unknown, unit: "vcpu" | "gb"): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(String(value ?? ""));
  if (!m) return undefined;
  if (m[2] === "") return Number(m[1]);
  return m[2].toLowerCase() === unit ? Number(m[1]) * 1024 : undefined;
}

function toNumber(value: unknown): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** NAT gateways the target runs: from each awsx Vpc's strategy and AZ count, plus raw ones. */
export function natGateways(resources: readonly RecordedResource[]): {
  readonly count: number;
  readonly detail: string;
} {
  const parts: string[] = [];
  let count = 0;
  for (const vpc of resources.filter((r) => r.type === TYPES.vpc)) {
    const strategy = String(
      (vpc.inputs.natGateways as { strategy?: string } | undefined)?.strategy ??
        AWSX_DEFAULT_NAT_STRATEGY,
    );
    const azs = availabilityZones(vpc);
    const n = strategy === "None" ? 0 : strategy === "Single" ? 1 : azs;
    count += n;
    parts.push(strategy === "OnePerAz" ? `OnePerAz over ${azs} AZs` : strategy);
  }
  const raw = resources.filter((r) => r.type === TYPES.natGateway).length;
  if (raw > 0) {
    count += raw;
    parts.push(`${raw} NatGateway resource(s)`);
  }
  return { count, detail: parts.join(", ") };
}

function availabilityZones(vpc: RecordedResource): number {
  const names = vpc.inputs.availabilityZoneNames;
  if (Array.isArray(names) && names.length > 0) return names.length;
  return toNumber(vpc.inputs.numberOfAvailabilityZones) ?? AWSX_DEFAULT_AZS;
}

/**
 * Estimates the monthly cost of the standing resources in `resources`, priced for `region`.
 * Returns `available: false` (never invented numbers) when the price table has no such region.
 */
export function estimateCost(
  resources: readonly RecordedResource[],
  region: string,
  options: {
    readonly prices?: Readonly<Record<string, RegionPrices>>;
    readonly assumptions?: CostAssumptions;
  } = {},
): CostEstimate {
  const prices = pricesFor(region, options.prices);
  if (!prices) {
    return {
      available: false,
      region,
      reason:
        `the price table (engine/prices.ts) has no prices for ${region || "an unknown region"}; ` +
        "add them from the AWS pricing pages to get an estimate",
    };
  }
  const a = options.assumptions ?? DEFAULT_ASSUMPTIONS;
  const hours = a.hoursPerMonth;
  const lines: CostLine[] = [];
  // Each line in whole cents, so the printed lines add up to the printed total.
  const add = (item: string, quantity: string, monthlyUsd: number, source: string) => {
    if (monthlyUsd > 0) lines.push({ item, quantity, monthlyUsd: cents(monthlyUsd), source });
  };

  // Load balancers: hourly, assumed LCUs, and one public IPv4 address per node (subnet).
  const albs = resources.filter(
    (r) =>
      (r.type === TYPES.loadBalancer &&
        (r.inputs.loadBalancerType ?? "application") === "application") ||
      r.type === TYPES.awsxLoadBalancer,
  );
  add(
    "Application load balancer",
    `${albs.length} × ${hours} h`,
    albs.length * hours * prices.albHour,
    PRICE_SOURCES.loadBalancer,
  );
  add(
    "Load balancer capacity units",
    `${albs.length * a.lcuPerLoadBalancer} LCU × ${hours} h (assumed)`,
    albs.length * a.lcuPerLoadBalancer * hours * prices.albLcuHour,
    PRICE_SOURCES.loadBalancer,
  );

  const fargate = fargateServices(resources);
  const tasks = fargate.reduce((n, s) => n + s.desiredCount, 0);
  const egressGb = tasks * a.egressGbPerTaskMonth;

  const nat = natGateways(resources);
  add(
    "NAT gateways",
    `${nat.count} × ${hours} h (${nat.detail})`,
    nat.count * hours * prices.natGatewayHour,
    PRICE_SOURCES.natGateway,
  );
  if (nat.count > 0) {
    add(
      "NAT data processed",
      `${egressGb} GB (assumed ${a.egressGbPerTaskMonth} GB × ${tasks} tasks)`,
      egressGb * prices.natGatewayGb,
      PRICE_SOURCES.natGateway,
    );
  }

  const albNodes = albs
    .filter((r) => r.inputs.internal !== true)
    .reduce((n, r) => n + loadBalancerNodes(r, resources), 0);
  const natAddresses = natGateways(
    resources.filter((r) => r.type === TYPES.vpc), // raw NAT gateways bring their own Eip
  ).count;
  const eips = resources.filter((r) => r.type === TYPES.eip).length;
  const addresses = albNodes + natAddresses + eips;
  add(
    "Public IPv4 addresses",
    `${addresses} × ${hours} h (${albNodes} load balancer nodes, ${natAddresses + eips} NAT/Elastic IPs)`,
    addresses * hours * prices.publicIpv4Hour,
    PRICE_SOURCES.publicIpv4,
  );

  for (const service of fargate) {
    if (service.cpu === undefined || service.memory === undefined) continue;
    const rate = prices.fargate[service.architecture];
    const vcpu = service.cpu / 1024;
    const gb = service.memory / 1024;
    add(
      `Fargate ${service.name}`,
      `${service.desiredCount} × (${vcpu} vCPU + ${gb} GB) × ${hours} h (${service.architecture})`,
      service.desiredCount * hours * (vcpu * rate.vcpuHour + gb * rate.gbHour),
      PRICE_SOURCES.fargate,
    );
  }

  const interfaceEndpoints = resources.filter(
    (r) => r.type === TYPES.vpcEndpoint && r.inputs.vpcEndpointType === "Interface",
  );
  const endpointAzs = interfaceEndpoints.reduce(
    (n, r) =>
      n +
      (Array.isArray(r.inputs.subnetIds) && r.inputs.subnetIds.length > 0
        ? r.inputs.subnetIds.length
        : 1),
    0,
  );
  add(
    "Interface VPC endpoints",
    `${interfaceEndpoints.length} endpoints, ${endpointAzs} AZ-attachments × ${hours} h`,
    endpointAzs * hours * prices.interfaceEndpointAzHour,
    PRICE_SOURCES.interfaceEndpoint,
  );
  if (interfaceEndpoints.length > 0 && nat.count === 0) {
    add(
      "Interface endpoint data processed",
      `${egressGb} GB (assumed ${a.egressGbPerTaskMonth} GB × ${tasks} tasks)`,
      egressGb * prices.interfaceEndpointGb,
      PRICE_SOURCES.interfaceEndpoint,
    );
  }

  const keys = resources.filter(
    (r) => r.type === TYPES.kmsKey || r.type === TYPES.kmsReplicaKey,
  ).length;
  add("KMS customer managed keys", `${keys} key(s)`, keys * prices.kmsKeyMonth, PRICE_SOURCES.kms);

  const logGb = tasks * a.logGbPerTaskMonth;
  add(
    "CloudWatch Logs ingestion",
    `${logGb} GB (assumed ${a.logGbPerTaskMonth} GB × ${tasks} tasks)`,
    logGb * prices.logsIngestionGb,
    PRICE_SOURCES.cloudwatch,
  );

  const alarms = resources.filter((r) => r.type === TYPES.alarm).map(alarmMetrics);
  const standard = alarms.filter((m) => !m.highResolution).reduce((n, m) => n + m.metrics, 0);
  const highResolution = alarms.filter((m) => m.highResolution).reduce((n, m) => n + m.metrics, 0);
  add(
    "CloudWatch alarms",
    `${alarms.length} alarms, ${standard + highResolution} alarm metrics`,
    standard * prices.alarmMetricMonth + highResolution * prices.highResolutionAlarmMetricMonth,
    PRICE_SOURCES.cloudwatch,
  );

  const rawClusters = resources.filter((r) => r.type === TYPES.eksCluster).length;
  const clusters =
    rawClusters > 0 ? rawClusters : resources.filter((r) => r.type === TYPES.eksComponent).length;
  add(
    "EKS control plane",
    `${clusters} × ${hours} h`,
    clusters * hours * prices.eksClusterHour,
    PRICE_SOURCES.eks,
  );

  const total = cents(lines.reduce((sum, l) => sum + l.monthlyUsd, 0));
  return {
    available: true,
    region,
    currency: "USD",
    asOf: prices.asOf,
    lines,
    totalMonthlyUsd: total,
    assumptions: [
      `${hours} hours a month; every standing resource runs all month at its desired count`,
      `${a.lcuPerLoadBalancer} LCU per load balancer on average (light traffic)`,
      `${a.egressGbPerTaskMonth} GB per task per month leave the private subnets ` +
        "(through NAT, or interface endpoints without NAT)",
      `${a.logGbPerTaskMonth} GB of logs per task per month`,
      `on-demand list prices for ${region} as of ${prices.asOf}`,
    ],
    notIncluded: NOT_INCLUDED,
    sources: [...new Set(lines.map((l) => l.source))],
  };
}

function cents(usd: number): number {
  return Math.round(usd * 100) / 100;
}

/** Nodes (one public address each) of an internet-facing load balancer: one per subnet. */
function loadBalancerNodes(lb: RecordedResource, resources: readonly RecordedResource[]): number {
  for (const key of ["subnets", "subnetMappings", "subnetIds"]) {
    const value = lb.inputs[key];
    if (Array.isArray(value) && value.length > 0) return value.length;
  }
  const vpc = resources.find((r) => r.type === TYPES.vpc);
  return vpc ? availabilityZones(vpc) : 2;
}

/** Alarm metrics AWS bills for one alarm: each metric of a metric-math alarm counts. */
function alarmMetrics(alarm: RecordedResource): { metrics: number; highResolution: boolean } {
  const queries = alarm.inputs.metricQueries as { metric?: { period?: number } }[] | undefined;
  if (Array.isArray(queries) && queries.length > 0) {
    const metrics = queries.filter((q) => q.metric !== undefined);
    const periods = metrics.map((q) => toNumber(q.metric?.period) ?? 60);
    return { metrics: metrics.length, highResolution: periods.some((p) => p < 60) };
  }
  return { metrics: 1, highResolution: (toNumber(alarm.inputs.period) ?? 60) < 60 };
}
