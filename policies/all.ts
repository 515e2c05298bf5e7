import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { costPolicies } from "./cost";
import { ecrPolicies } from "./ecr";
import { ecsPolicies } from "./ecs";
import { elbPolicies } from "./elb";
import { githubPolicies } from "./github";
import { iamPolicies } from "./iam";
import { networkPolicies } from "./network";
import { taggingPolicies } from "./tagging";

/**
 * Every policy of the cutover pack, in report order. `index.ts` serves exactly this list and the
 * offline harness (`evaluate.ts`) runs exactly this list. Kept apart from `index.ts` because
 * constructing the PolicyPack starts a gRPC server.
 *
 * EKS rules (control plane logging, private endpoint, secrets encryption) come with EKS compute.
 */
export const allPolicies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
  ...ecrPolicies,
  ...ecsPolicies,
  ...elbPolicies,
  ...networkPolicies,
  ...iamPolicies,
  ...githubPolicies,
  ...taggingPolicies,
  ...costPolicies,
];
