import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { deployedImageTag, repositoryName } from "./naming";

export interface RegistryArgs {
  /** Project and target, for the repository names `<project>/<target>/<service>`. */
  readonly project: string;
  readonly target: string;
  /** One repository per service. */
  readonly services: readonly string[];
  /** Tagged images kept per repository besides those of deployed versions, newest first. */
  readonly keepImages: number;
  /**
   * Delete repositories that still hold images on `pulumi destroy`.
   * @default - false (set true outside prod so a target can be torn down)
   */
  readonly forceDelete?: boolean;
}

/**
 * Lifecycle rules of every repository: a computed document, snapshot-tested. The first rule
 * matches the images of deployed versions (the release command tags them `deployed-<sha>`) and
 * keeps them all; ECR never lets a later rule expire an image an earlier rule's tags match.
 */
export function lifecyclePolicy(keepImages: number): string {
  return JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description: "Keep every image a deployed version runs (tagged deployed-<sha>)",
        selection: {
          tagStatus: "tagged",
          tagPatternList: [deployedImageTag("*")],
          countType: "imageCountMoreThan",
          countNumber: 1000,
        },
        action: { type: "expire" },
      },
      {
        rulePriority: 2,
        description: "Expire untagged images (failed or superseded pushes) after 7 days",
        selection: {
          tagStatus: "untagged",
          countType: "sinceImagePushed",
          countUnit: "days",
          countNumber: 7,
        },
        action: { type: "expire" },
      },
      {
        rulePriority: 3,
        description: `Keep the ${keepImages} newest other tagged images`,
        selection: {
          tagStatus: "tagged",
          tagPatternList: ["*"],
          countType: "imageCountMoreThan",
          countNumber: keepImages,
        },
        action: { type: "expire" },
      },
    ],
  });
}

/**
 * One ECR repository per service: immutable tags (a SHA tag can never be moved to another image),
 * scan on push, KMS encryption, and lifecycle rules that bound storage.
 */
export class Registry extends pulumi.ComponentResource {
  /** Repositories by service name. */
  public readonly repositories: Record<string, aws.ecr.Repository>;
  public readonly repositoryUrls: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cutover:platform:Registry", name, {}, opts);
    this.repositories = {};
    for (const service of args.services) {
      this.repositories[service] = createRepository.call(this, service);
    }
    this.repositoryUrls = pulumi
      .all(
        Object.fromEntries(Object.entries(this.repositories).map(([s, r]) => [s, r.repositoryUrl])),
      )
      .apply((urls) => urls as Record<string, string>);
    this.registerOutputs({ repositoryUrls: this.repositoryUrls });

    function createRepository(this: Registry, service: string) {
      const repo = new aws.ecr.Repository(
        `${name}-${service}`,
        {
          // Slash-separated so one IAM pattern (`<project>/<target>/*`) scopes a target's repos.
          name: repositoryName(args.project, args.target, service),
          imageTagMutability: "IMMUTABLE",
          imageScanningConfiguration: { scanOnPush: true },
          encryptionConfigurations: [{ encryptionType: "KMS" }],
          forceDelete: args.forceDelete ?? false,
        },
        { parent: this },
      );
      new aws.ecr.LifecyclePolicy(
        `${name}-${service}-lifecycle`,
        { repository: repo.name, policy: lifecyclePolicy(args.keepImages) },
        { parent: this },
      );
      return repo;
    }
  }
}
