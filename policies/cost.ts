import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { targetOf } from "./common";

/** Largest Fargate task dev runs without a warning, unless policy config says otherwise. */
export const DEV_MAX_CPU = 1024;
export const DEV_MAX_MEMORY = 4096;

/**
 * Task sizes as ECS accepts them: cpu units ("1024") or vCPU ("1 vCPU"); memory MiB ("2048") or
 * GB ("2 GB"). `undefined` when the value cannot be read.
 */
export function parseTaskSize(value: unknown, unit: "vcpu" | "gb"): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (!m) return undefined;
  const amount = Number(m[1]);
  if (m[2] === "") return amount;
  return m[2].toLowerCase() === unit ? amount * 1024 : undefined;
}

/** Advisory: spending that is right for prod and a surprise anywhere else. */
export const costPolicies: ResourceValidationPolicy[] = [
  {
    name: "cost-nat-per-az-outside-prod",
    description:
      "CUTOVER-COST-NAT: outside prod a VPC has one NAT gateway, not one per AZ (each is billed hourly plus per GB).",
    enforcementLevel: "advisory",
    severity: "low",
    validateResource: validateResourceOfType(awsx.ec2.Vpc, (vpc, args, report) => {
      const target = targetOf(args);
      if (target === undefined || target === "prod") {
        args.notApplicable(`target is ${target ?? "unknown"}`);
      }
      // awsx default: OnePerAz.
      const strategy = vpc.natGateways?.strategy ?? "OnePerAz";
      if (strategy === "OnePerAz") {
        report(
          `${target} runs a NAT gateway per AZ; set \`network.nat\` to single (or none) outside prod.`,
        );
      }
    }),
  },
  {
    name: "cost-fargate-size-dev",
    description: `CUTOVER-COST-FARGATE: dev Fargate tasks stay within ${DEV_MAX_CPU} cpu units and ${DEV_MAX_MEMORY} MiB (configurable: maxCpu, maxMemory).`,
    enforcementLevel: "advisory",
    severity: "low",
    configSchema: {
      properties: {
        maxCpu: { type: "integer", default: DEV_MAX_CPU, minimum: 256 },
        maxMemory: { type: "integer", default: DEV_MAX_MEMORY, minimum: 512 },
      },
    },
    validateResource: validateResourceOfType(aws.ecs.TaskDefinition, (td, args, report) => {
      const target = targetOf(args);
      if (target !== "dev") args.notApplicable(`target is ${target ?? "unknown"}, not dev`);
      const config = args.getConfig<{ maxCpu?: number; maxMemory?: number }>();
      const maxCpu = config.maxCpu ?? DEV_MAX_CPU;
      const maxMemory = config.maxMemory ?? DEV_MAX_MEMORY;
      const cpu = parseTaskSize(td.cpu, "vcpu");
      const memory = parseTaskSize(td.memory, "gb");
      if ((cpu ?? 0) > maxCpu || (memory ?? 0) > maxMemory) {
        report(
          `dev task is ${td.cpu} cpu / ${td.memory} memory; dev stays within ${maxCpu} cpu / ` +
            `${maxMemory} MiB. Size dev down, or raise the limit in policy config.`,
        );
      }
    }),
  },
];
