import * as aws from "@pulumi/aws";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";

/** ECR repositories: every image is scanned, a tag names one image forever, storage uses KMS. */
export const ecrPolicies: ResourceValidationPolicy[] = [
  {
    name: "ecr-scan-on-push",
    description: "ECR.1 / CKV_AWS_163: ECR repositories scan images on push.",
    severity: "medium",
    validateResource: validateResourceOfType(aws.ecr.Repository, (repo, _args, report) => {
      // Provider default: scanning off.
      if (repo.imageScanningConfiguration?.scanOnPush !== true) {
        report("Set `imageScanningConfiguration: { scanOnPush: true }`: images are not scanned.");
      }
    }),
  },
  {
    name: "ecr-immutable-tags",
    description: "ECR.2 / CKV_AWS_51: ECR repositories have IMMUTABLE image tags.",
    severity: "high",
    validateResource: validateResourceOfType(aws.ecr.Repository, (repo, _args, report) => {
      // Provider default: MUTABLE. A release deploys the image a SHA tag names; a movable tag
      // would let a push change what a deployed version runs.
      const mutability = repo.imageTagMutability ?? "MUTABLE";
      if (mutability !== "IMMUTABLE") {
        report(
          `\`imageTagMutability\` is ${mutability}; set IMMUTABLE so a SHA tag always names one image.`,
        );
      }
    }),
  },
  {
    name: "ecr-kms-encryption",
    description: "CKV_AWS_136: ECR repositories are encrypted with KMS.",
    severity: "low",
    validateResource: validateResourceOfType(aws.ecr.Repository, (repo, _args, report) => {
      // Provider default: AES256 (S3-managed keys).
      const type = repo.encryptionConfigurations?.[0]?.encryptionType ?? "AES256";
      if (type !== "KMS" && type !== "KMS_DSSE") {
        report(
          `Encryption is ${type}; set \`encryptionConfigurations: [{ encryptionType: "KMS" }]\`.`,
        );
      }
    }),
  },
];
