import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface CertificateArgs {
  /** Existing public hosted zone, looked up by name; never created or deleted here. */
  readonly hostedZone: string;
  /** The target's domain: the certificate covers it and `*.<domain>`. */
  readonly domain: string;
}

/**
 * The target's TLS certificate: one ACM certificate for `domain` and `*.domain`, validated by DNS.
 *
 * Both names share one validation CNAME (ACM derives it from the base name), so exactly one
 * Route53 record is created; one per `domainValidationOptions` entry fails with "already exists".
 */
export class Certificate extends pulumi.ComponentResource {
  public readonly zoneId: pulumi.Output<string>;
  /** ARN of the certificate once validated: listeners must use this one. */
  public readonly certificateArn: pulumi.Output<string>;

  constructor(name: string, args: CertificateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cutover:platform:Certificate", name, {}, opts);
    const zone = aws.route53.getZoneOutput(
      { name: args.hostedZone, privateZone: false },
      { parent: this },
    );
    this.zoneId = zone.zoneId;

    const cert = new aws.acm.Certificate(
      `${name}-cert`,
      {
        domainName: args.domain,
        subjectAlternativeNames: [`*.${args.domain}`],
        validationMethod: "DNS",
      },
      { parent: this },
    );
    const option = cert.domainValidationOptions[0];
    const record = new aws.route53.Record(
      `${name}-validation-record`,
      {
        zoneId: this.zoneId,
        name: option.resourceRecordName,
        type: option.resourceRecordType,
        records: [option.resourceRecordValue],
        ttl: 300,
        // Another stack (or a past run) may already have written this exact CNAME.
        allowOverwrite: true,
      },
      { parent: this },
    );
    const validation = new aws.acm.CertificateValidation(
      `${name}-validation`,
      { certificateArn: cert.arn, validationRecordFqdns: [record.fqdn] },
      { parent: this },
    );
    this.certificateArn = validation.certificateArn;
    this.registerOutputs({ zoneId: this.zoneId, certificateArn: this.certificateArn });
  }
}

export interface WildcardRecordArgs {
  readonly zoneId: pulumi.Input<string>;
  readonly domain: string;
  readonly loadBalancer: { dnsName: pulumi.Input<string>; zoneId: pulumi.Input<string> };
}

/**
 * `*.<domain>` → the ALB, as an alias A record. Every service host and every SHA host resolves
 * through it, so staging a version never touches DNS.
 */
export function wildcardRecord(
  name: string,
  args: WildcardRecordArgs,
  parent: pulumi.Resource,
): aws.route53.Record {
  return new aws.route53.Record(
    name,
    {
      zoneId: args.zoneId,
      name: `*.${args.domain}`,
      type: "A",
      aliases: [
        {
          name: args.loadBalancer.dnsName,
          zoneId: args.loadBalancer.zoneId,
          evaluateTargetHealth: true,
        },
      ],
    },
    { parent },
  );
}
