/**
 * On-demand list prices (USD) of the standing resources a target runs, per region, for the plan's
 * cost estimate. Only regions listed here get an estimate: for any other region the plan says the
 * estimate is unavailable rather than guessing. To add a region, copy its rates from the pricing
 * pages in `PRICE_SOURCES` and update `asOf`.
 */

/** Where each rate comes from: the AWS pricing page of the service. */
export const PRICE_SOURCES = {
  loadBalancer: "https://aws.amazon.com/elasticloadbalancing/pricing/",
  natGateway: "https://aws.amazon.com/vpc/pricing/",
  publicIpv4: "https://aws.amazon.com/vpc/pricing/",
  fargate: "https://aws.amazon.com/fargate/pricing/",
  interfaceEndpoint: "https://aws.amazon.com/privatelink/pricing/",
  kms: "https://aws.amazon.com/kms/pricing/",
  cloudwatch: "https://aws.amazon.com/cloudwatch/pricing/",
  eks: "https://aws.amazon.com/eks/pricing/",
} as const;

export interface RegionPrices {
  /** Month the rates were read from the pricing pages (YYYY-MM-DD). */
  readonly asOf: string;
  /** Application load balancer: per hour, and per LCU-hour. */
  readonly albHour: number;
  readonly albLcuHour: number;
  /** NAT gateway: per hour, and per GB processed. */
  readonly natGatewayHour: number;
  readonly natGatewayGb: number;
  /** Every public IPv4 address (NAT gateway EIPs, internet-facing load balancer nodes), per hour. */
  readonly publicIpv4Hour: number;
  /** Fargate Linux, per vCPU-hour and per GB-hour of memory. */
  readonly fargate: {
    readonly x86: { readonly vcpuHour: number; readonly gbHour: number };
    readonly arm: { readonly vcpuHour: number; readonly gbHour: number };
  };
  /** Interface VPC endpoint: per endpoint per AZ-hour, and per GB processed (first PB). */
  readonly interfaceEndpointAzHour: number;
  readonly interfaceEndpointGb: number;
  /** KMS customer managed key, per key-month (requests are not counted). */
  readonly kmsKeyMonth: number;
  /** CloudWatch Logs standard ingestion, per GB. */
  readonly logsIngestionGb: number;
  /** CloudWatch alarm, per alarm metric-month: standard (period ≥ 60 s) and high resolution. */
  readonly alarmMetricMonth: number;
  readonly highResolutionAlarmMetricMonth: number;
  /** EKS cluster control plane (standard support), per hour. */
  readonly eksClusterHour: number;
}

export const PRICES: Readonly<Record<string, RegionPrices>> = {
  "us-east-1": {
    asOf: "2026-03-01",
    albHour: 0.0225,
    albLcuHour: 0.008,
    natGatewayHour: 0.045,
    natGatewayGb: 0.045,
    publicIpv4Hour: 0.005,
    fargate: {
      x86: { vcpuHour: 0.04048, gbHour: 0.004445 },
      arm: { vcpuHour: 0.03238, gbHour: 0.00356 },
    },
    interfaceEndpointAzHour: 0.01,
    interfaceEndpointGb: 0.01,
    kmsKeyMonth: 1,
    logsIngestionGb: 0.5,
    alarmMetricMonth: 0.1,
    highResolutionAlarmMetricMonth: 0.3,
    eksClusterHour: 0.1,
  },
  "eu-west-1": {
    asOf: "2026-03-01",
    albHour: 0.0252,
    albLcuHour: 0.008,
    natGatewayHour: 0.048,
    natGatewayGb: 0.048,
    publicIpv4Hour: 0.005,
    fargate: {
      x86: { vcpuHour: 0.04048, gbHour: 0.004445 },
      arm: { vcpuHour: 0.03238, gbHour: 0.00356 },
    },
    interfaceEndpointAzHour: 0.011,
    interfaceEndpointGb: 0.01,
    kmsKeyMonth: 1,
    logsIngestionGb: 0.57,
    alarmMetricMonth: 0.1,
    highResolutionAlarmMetricMonth: 0.3,
    eksClusterHour: 0.1,
  },
};

/** The prices of `region`, or `undefined` when the table has none (no estimate is made then). */
export function pricesFor(
  region: string,
  table: Readonly<Record<string, RegionPrices>> = PRICES,
): RegionPrices | undefined {
  return Object.prototype.hasOwnProperty.call(table, region) ? table[region] : undefined;
}
