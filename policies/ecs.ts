import * as aws from "@pulumi/aws";
import {
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  validateResourceOfType,
} from "@pulumi/policy";
import { isRecord, parseJson } from "./common";

/** Environment variable names that look like they hold a secret. */
export const SECRET_LIKE_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIAL)/i;

type Container = Record<string, unknown>;

/**
 * Runs `check` on every container of a task definition. `containerDefinitions` is a JSON string
 * (the provider's only form); one that cannot be read is itself a violation.
 */
function eachContainer(
  check: (container: Container, label: string, report: ReportViolation) => void,
): (
  td: { containerDefinitions?: string },
  args: ResourceValidationArgs,
  report: ReportViolation,
) => void {
  return (td, _args, report) => {
    const containers = parseJson(td.containerDefinitions);
    if (!Array.isArray(containers) || !containers.every(isRecord)) {
      report("`containerDefinitions` is not a JSON array of container definitions.");
      return;
    }
    containers.forEach((c, i) => {
      const label = `container ${typeof c.name === "string" ? JSON.stringify(c.name) : i + 1}`;
      check(c, label, report);
    });
  };
}

/** Is this `user` (`uid`, `uid:gid`, `name`, `name:group`) the root user? Absent means root. */
export function isRootUser(user: unknown): boolean {
  if (typeof user !== "string" || user.trim() === "") return true;
  const uid = user.split(":")[0].trim();
  return uid === "root" || /^0+$/.test(uid);
}

export const ecsPolicies: ResourceValidationPolicy[] = [
  {
    name: "ecs-task-not-privileged",
    description: "ECS.4 / CKV_AWS_334: ECS containers do not run privileged.",
    severity: "high",
    validateResource: validateResourceOfType(
      aws.ecs.TaskDefinition,
      eachContainer((c, label, report) => {
        if (c.privileged === true) report(`${label} runs privileged; remove \`privileged\`.`);
      }),
    ),
  },
  {
    name: "ecs-task-read-only-root",
    description: "ECS.5 / CKV_AWS_336: ECS containers have a read-only root filesystem.",
    severity: "high",
    validateResource: validateResourceOfType(
      aws.ecs.TaskDefinition,
      eachContainer((c, label, report) => {
        // Container default: writable.
        if (c.readonlyRootFilesystem !== true) {
          report(
            `${label} has a writable root filesystem; set \`readonlyRootFilesystem: true\` ` +
              "and mount a volume where the application must write.",
          );
        }
      }),
    ),
  },
  {
    name: "ecs-task-non-root-user",
    description:
      "CUTOVER-ECS-USER (cf. ECS.1): ECS containers run as a named non-root `user` (not root, 0, 0:0).",
    severity: "high",
    validateResource: validateResourceOfType(
      aws.ecs.TaskDefinition,
      eachContainer((c, label, report) => {
        // Without `user` the image's USER applies, which is root unless the image says otherwise.
        if (isRootUser(c.user)) {
          const user = c.user === undefined ? "not set" : JSON.stringify(c.user);
          report(`${label}: \`user\` is ${user}; set a non-root uid:gid such as "1000:1000".`);
        }
      }),
    ),
  },
  {
    name: "ecs-task-awslogs",
    description: "ECS.9: ECS containers send their logs to CloudWatch (awslogs log driver).",
    severity: "medium",
    validateResource: validateResourceOfType(
      aws.ecs.TaskDefinition,
      eachContainer((c, label, report) => {
        const config = c.logConfiguration;
        const driver = isRecord(config) ? config.logDriver : undefined;
        if (driver !== "awslogs") {
          report(
            `${label} logs with ${driver === undefined ? "no log driver" : JSON.stringify(driver)}; ` +
              'set `logConfiguration: { logDriver: "awslogs", options: {...} }`.',
          );
        }
      }),
    ),
  },
  {
    name: "ecs-task-awsvpc",
    description:
      "CUTOVER-ECS-NET (cf. ECS.1): ECS task definitions use networkMode awsvpc (own ENI and security group).",
    severity: "medium",
    validateResource: validateResourceOfType(aws.ecs.TaskDefinition, (td, _args, report) => {
      // Provider default: bridge.
      const mode = td.networkMode ?? "bridge";
      if (mode !== "awsvpc") {
        report(`\`networkMode\` is ${mode}; set awsvpc (Fargate requires it).`);
      }
    }),
  },
  {
    name: "ecs-task-no-secrets-in-environment",
    description:
      "ECS.8: ECS containers pass no secret-looking variables (SECRET, PASSWORD, TOKEN, PRIVATE_KEY, API_KEY, CREDENTIAL) in plain `environment`.",
    severity: "high",
    validateResource: validateResourceOfType(
      aws.ecs.TaskDefinition,
      eachContainer((c, label, report) => {
        const names = (Array.isArray(c.environment) ? c.environment : [])
          .map((e: unknown) => (isRecord(e) ? e.name : undefined))
          .filter((n): n is string => typeof n === "string" && SECRET_LIKE_NAME.test(n));
        if (names.length > 0) {
          report(
            `${label} has ${names.join(", ")} in plain \`environment\`, visible to anyone who can ` +
              "describe the task definition; pass it through `secrets` (Secrets Manager or SSM).",
          );
        }
      }),
    ),
  },
  {
    name: "ecs-service-no-public-ip",
    description: "ECS.2: ECS services do not assign public IP addresses to tasks.",
    severity: "high",
    validateResource: validateResourceOfType(aws.ecs.Service, (svc, _args, report) => {
      // Provider default: false.
      if (svc.networkConfiguration?.assignPublicIp === true) {
        report("`networkConfiguration.assignPublicIp` is true; run tasks in private subnets.");
      }
    }),
  },
  {
    name: "ecs-service-circuit-breaker",
    description:
      "CUTOVER-ECS-CB: ECS services roll a failed deployment back (deploymentCircuitBreaker enable + rollback).",
    severity: "medium",
    validateResource: validateResourceOfType(aws.ecs.Service, (svc, args, report) => {
      const controller = svc.deploymentController?.type ?? "ECS";
      if (controller !== "ECS") {
        args.notApplicable(`the circuit breaker exists only for the ECS deployment controller`);
      }
      const breaker = svc.deploymentCircuitBreaker;
      if (breaker?.enable !== true || breaker?.rollback !== true) {
        report(
          "Set `deploymentCircuitBreaker: { enable: true, rollback: true }` so a version whose " +
            "tasks never become healthy rolls back instead of retrying forever.",
        );
      }
    }),
  },
];
