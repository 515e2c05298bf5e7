import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { digest } from "./naming";

export interface NotificationsArgs {
  /** Addresses subscribed to the topic (each must confirm the subscription e-mail). */
  readonly emails: readonly string[];
}

/**
 * The target's SNS topic for alarms, encrypted with its own KMS key.
 *
 * Not the AWS-managed `alias/aws/sns` key: its policy cannot be changed to let CloudWatch encrypt,
 * so alarm notifications to such a topic are silently dropped.
 *
 * Cost: one customer-managed KMS key.
 */
export class Notifications extends pulumi.ComponentResource {
  public readonly topic: aws.sns.Topic;

  constructor(name: string, args: NotificationsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cutover:platform:Notifications", name, {}, opts);
    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    const key = new aws.kms.Key(
      `${name}-key`,
      {
        description: "Encrypts the alarm topic; CloudWatch may use it to publish",
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "AccountAdministers",
              Effect: "Allow",
              Principal: { AWS: pulumi.interpolate`arn:aws:iam::${account}:root` },
              Action: "kms:*",
              Resource: "*",
            },
            {
              // As AWS documents it, without conditions: CloudWatch's call may not carry the
              // source-account key, and a publish that fails here is dropped silently.
              Sid: "CloudWatchPublishes",
              Effect: "Allow",
              Principal: { Service: "cloudwatch.amazonaws.com" },
              Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
              Resource: "*",
            },
          ],
        }),
      },
      { parent: this },
    );
    this.topic = new aws.sns.Topic(`${name}-alarms`, { kmsMasterKeyId: key.arn }, { parent: this });
    for (const email of args.emails) {
      // Named by a hash of the address, so reordering the list replaces nothing.
      new aws.sns.TopicSubscription(
        `${name}-email-${digest(email)}`,
        { topic: this.topic.arn, protocol: "email", endpoint: email },
        { parent: this },
      );
    }
    this.registerOutputs({ topic: this.topic });
  }
}
