import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./all";

/**
 * The cutover CrossGuard pack: `pulumi preview --policy-pack policies`. Mandatory unless a policy
 * says otherwise (the cost rules are advisory); every level can be changed per policy, or for
 * `all`, with `--policy-pack-config <file.json>`.
 */
new PolicyPack("cutover", {
  description:
    "Security and cost rules for cutover's AWS targets and GitHub repository (ECR, ECS, ELB, VPC, IAM, GitHub, tags). EKS rules come with EKS.",
  policies: allPolicies,
  enforcementLevel: "mandatory",
});
