import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The tag every AWS resource of a target carries; teardown and IAM conditions key on it. */
export const TARGET_TAG = "cutover:target";

export interface TagContext {
  readonly project: string;
  readonly stack: string;
  readonly target: string;
}

/** Base tags of a target: find everything of `prod` with one tag query. */
export function baseTags(ctx: TagContext): Record<string, string> {
  return {
    [TARGET_TAG]: ctx.target,
    "cutover:project": ctx.project,
    "cutover:stack": ctx.stack,
    "managed-by": "pulumi",
  };
}

export interface TargetProviderArgs extends TagContext {
  readonly region: string;
}

/**
 * The AWS provider every resource of the target is created with. Its `defaultTags` put the base
 * tags on every taggable resource, including those inside awsx components, so no resource can be
 * forgotten. It is a provider, not infrastructure: changing the region replaces everything.
 */
export function targetProvider(name: string, args: TargetProviderArgs): aws.Provider {
  return new aws.Provider(name, {
    region: args.region as pulumi.Input<aws.Region>,
    defaultTags: { tags: baseTags(args) },
  });
}
