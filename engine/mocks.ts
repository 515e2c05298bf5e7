import * as pulumi from "@pulumi/pulumi";
import {
  MockCallArgs,
  MockCallResult,
  MockResourceArgs,
  MockResourceResult,
} from "@pulumi/pulumi/runtime/mocks";
import { digest } from "../components/naming";

/**
 * The offline engine: answers the Pulumi runtime in place of the CLI, providers and AWS, and
 * records every resource the program registers. Used by the tests and by `npm run plan`.
 *
 * It synthesizes the outputs real providers would compute (ids, ARNs, DNS names, the ACM
 * validation options...), deterministically, so two runs can be diffed. Invokes it does not know
 * throw: a new data source in the program must be taught here, on purpose.
 */

/** The marker Pulumi uses for a secret value on the wire. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

export interface RecordedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** URN of the parent resource, if any. */
  readonly parent?: string;
  /** Provider reference `urn::id`, if explicit or inherited. */
  readonly provider?: string;
  readonly custom: boolean;
  /** Inputs as the program sent them (secrets still wrapped; see `unwrapSecrets`). */
  readonly inputs: Record<string, unknown>;
  /** Outputs the engine answered with. */
  readonly state: Record<string, unknown>;
  readonly id: string;
}

export interface EngineOptions {
  readonly project: string;
  readonly stack: string;
  readonly region?: string;
  readonly accountId?: string;
  /** Hosted zones that exist in the account, by name. */
  readonly hostedZones?: readonly string[];
  /** SSM parameters that exist, by name (e.g. release state written by the release command). */
  readonly parameters?: Readonly<Record<string, string>>;
  /** GitHub teams and users that exist, by slug/login. */
  readonly githubTeams?: readonly string[];
  readonly githubUsers?: readonly string[];
}

export class MockEngine implements pulumi.runtime.Mocks {
  public readonly resources: RecordedResource[] = [];
  public readonly invokes: { token: string; inputs: Record<string, unknown> }[] = [];
  /** Invokes that failed, in order. */
  public readonly failures: unknown[] = [];
  private readonly parents = new Map<string, string>();
  private readonly region: string;
  private readonly account: string;

  constructor(private readonly options: EngineOptions) {
    this.region = options.region ?? "eu-west-1";
    this.account = options.accountId ?? "123456789012";
  }

  /** Forgets everything recorded, for a second run into the same engine. */
  reset(): void {
    this.resources.length = 0;
    this.invokes.length = 0;
    this.failures.length = 0;
    this.parents.clear();
  }

  /** Called by the monitor hook with what `newResource` is not told: the parent. */
  noteParent(type: string, name: string, parentUrn: string | undefined): void {
    if (parentUrn) this.parents.set(`${type}::${name}`, parentUrn);
  }

  newResource(args: MockResourceArgs): MockResourceResult {
    const parent = this.parents.get(`${args.type}::${args.name}`);
    const urn = this.urn(parent, args.type, args.name);
    const inputs = (args.inputs ?? {}) as Record<string, unknown>;
    const id = args.custom === false ? "" : `${args.name}-${digest(urn, 8)}`;
    const state = this.synthesize(args.type, args.name, inputs, id);
    this.resources.push({
      urn,
      type: args.type,
      name: args.name,
      parent,
      provider: args.provider || undefined,
      custom: args.custom !== false,
      inputs,
      state,
      id,
    });
    return { id: args.custom === false ? undefined : id, state };
  }

  call(args: MockCallArgs): MockCallResult {
    try {
      return this.answer(args);
    } catch (e) {
      // Pulumi loses the message when the failure travels through Outputs; keep it here.
      this.failures.push(e);
      throw e;
    }
  }

  private answer(args: MockCallArgs): MockCallResult {
    const inputs = (args.inputs ?? {}) as Record<string, unknown>;
    this.invokes.push({ token: args.token, inputs });
    const region = this.region;
    switch (args.token) {
      case "aws:index/getRegion:getRegion":
        return {
          id: region,
          region,
          name: region,
          description: region,
          endpoint: `ec2.${region}.amazonaws.com`,
        };
      case "aws:index/getCallerIdentity:getCallerIdentity":
        return {
          id: this.account,
          accountId: this.account,
          arn: `arn:aws:iam::${this.account}:user/offline`,
          userId: "AIDAOFFLINE",
        };
      case "aws:index/getAvailabilityZones:getAvailabilityZones": {
        const letters = ["a", "b", "c", "d", "e", "f"];
        return {
          id: region,
          names: letters.map((l) => `${region}${l}`),
          zoneIds: letters.map((_, i) => `euw1-az${i + 1}`),
          groupNames: [region],
        };
      }
      case "aws:route53/getZone:getZone": {
        const name = String(inputs.name ?? "").replace(/\.$/, "");
        const zones = this.options.hostedZones;
        if (zones && !zones.includes(name))
          throw new Error(`hosted zone ${name} does not exist in the account`);
        const zoneId = `Z${digest(name, 12).toUpperCase()}`;
        return { id: zoneId, zoneId, name: `${name}.`, privateZone: false, nameServers: [] };
      }
      case "aws:elb/getServiceAccount:getServiceAccount":
        return { id: "156460612806", arn: "arn:aws:iam::156460612806:root", region };
      case "aws:ec2/getRouteTables:getRouteTables":
        return { id: region, ids: ["rtb-private-a", "rtb-private-b", "rtb-public"] };
      case "aws:ssm/getParametersByPath:getParametersByPath": {
        const path = String(inputs.path);
        const entries = Object.entries(this.options.parameters ?? {}).filter(
          ([name]) => name.startsWith(path) && !name.slice(path.length).includes("/"),
        );
        return {
          id: path,
          path,
          names: entries.map(([n]) => n),
          values: entries.map(([, v]) => v),
          types: entries.map(() => "String"),
          arns: entries.map(([n]) => `arn:aws:ssm:${region}:${this.account}:parameter${n}`),
        };
      }
      case "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider": {
        const url = String(inputs.url ?? "").replace(/^https:\/\//, "");
        return {
          id: `arn:aws:iam::${this.account}:oidc-provider/${url}`,
          arn: `arn:aws:iam::${this.account}:oidc-provider/${url}`,
          url,
          clientIdLists: ["sts.amazonaws.com"],
        };
      }
      case "github:index/getTeam:getTeam": {
        const slug = String(inputs.slug);
        if (this.options.githubTeams && !this.options.githubTeams.includes(slug)) {
          throw new Error(`GitHub team ${slug} does not exist`);
        }
        return {
          id: String(numericId(slug)),
          slug,
          name: slug,
          nodeId: `T_${digest(slug, 8)}`,
          members: [],
        };
      }
      case "github:index/getUser:getUser": {
        const username = String(inputs.username);
        if (this.options.githubUsers && !this.options.githubUsers.includes(username)) {
          throw new Error(`GitHub user ${username} does not exist`);
        }
        return {
          id: String(numericId(username)),
          login: username,
          nodeId: `U_${digest(username, 8)}`,
        };
      }
      default:
        throw new Error(
          `the offline engine does not know the invoke ${args.token}; teach engine/mocks.ts`,
        );
    }
  }

  /** Same URN scheme as Pulumi's own mock monitor. */
  private urn(parent: string | undefined, type: string, name: string): string {
    let qualified = type;
    if (parent) {
      const parentType = parent.split("::")[2].split("$").pop();
      qualified = `${parentType}$${type}`;
    }
    return `urn:pulumi:${this.options.stack}::${this.options.project}::${qualified}::${name}`;
  }

  private synthesize(
    type: string,
    name: string,
    inputs: Record<string, unknown>,
    id: string,
  ): Record<string, unknown> {
    const region = this.region;
    const account = this.account;
    const physical = typeof inputs.name === "string" ? inputs.name : `${name}-${digest(id, 7)}`;
    const service = type.split(":")[1]?.split("/")[0] ?? "mock";
    const arn = `arn:aws:${service}:${region}:${account}:${type.split(":").pop()!.toLowerCase()}/${physical}`;
    const base = { ...inputs, id, arn, name: physical, tagsAll: inputs.tags };
    switch (type) {
      case "awsx:ec2:Vpc": {
        const azs = Number(inputs.numberOfAvailabilityZones ?? 2);
        const ids = (kind: string) => Array.from({ length: azs }, (_, i) => `subnet-${kind}-${i}`);
        return {
          vpcId: `vpc-${digest(name, 8)}`,
          publicSubnetIds: ids("public"),
          privateSubnetIds: ids("private"),
        };
      }
      case "aws:ecr/repository:Repository":
        return {
          ...base,
          repositoryUrl: `${account}.dkr.ecr.${region}.amazonaws.com/${physical}`,
          registryId: account,
        };
      case "aws:lb/loadBalancer:LoadBalancer":
        return {
          ...base,
          arnSuffix: `app/${physical}/${digest(id, 16)}`,
          dnsName: `${physical}-${digest(id, 6)}.${region}.elb.amazonaws.com`,
          zoneId: "Z32O12XQLNTSW2",
        };
      case "aws:lb/targetGroup:TargetGroup":
        return { ...base, arnSuffix: `targetgroup/${physical}/${digest(id, 16)}` };
      case "aws:acm/certificate:Certificate": {
        // ACM gives `domain` and `*.domain` the same validation record: both options share it.
        const names = [
          inputs.domainName,
          ...((inputs.subjectAlternativeNames as string[]) ?? []),
        ].map(String);
        const base0 = names[0].replace(/^\*\./, "");
        const record = {
          resourceRecordName: `_${digest(base0, 16)}.${base0}.`,
          resourceRecordType: "CNAME",
          resourceRecordValue: `_${digest(base0 + "v", 16)}.acm-validations.aws.`,
        };
        return {
          ...base,
          domainValidationOptions: names.map((domainName) => ({ domainName, ...record })),
        };
      }
      case "aws:acm/certificateValidation:CertificateValidation":
        return { ...base, certificateArn: inputs.certificateArn };
      case "aws:route53/record:Record":
        return { ...base, fqdn: String(inputs.name).replace(/\.$/, "") };
      case "aws:s3/bucket:Bucket": {
        const bucket =
          typeof inputs.bucket === "string"
            ? inputs.bucket
            : `${inputs.bucketPrefix ?? `${name}-`}${digest(id, 12)}`;
        return { ...base, bucket, name: bucket, arn: `arn:aws:s3:::${bucket}` };
      }
      case "aws:iam/role:Role":
        return {
          ...base,
          arn: `arn:aws:iam::${account}:role/${physical}`,
          uniqueId: `AROA${digest(id, 12).toUpperCase()}`,
        };
      case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        return {
          ...base,
          arn: `arn:aws:iam::${account}:oidc-provider/${String(inputs.url).replace(/^https:\/\//, "")}`,
        };
      case "aws:cloudwatch/logGroup:LogGroup":
        return { ...base, arn: `arn:aws:logs:${region}:${account}:log-group:${physical}` };
      case "aws:sns/topic:Topic":
        return { ...base, arn: `arn:aws:sns:${region}:${account}:${physical}` };
      default:
        return base;
    }
  }
}

/** Hook the monitor `setMocks` installed, to learn each resource's parent URN. */
export function hookParents(engine: MockEngine): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): unknown };
  const monitor = settings.getMonitor() as {
    registerResource(
      req: { getType(): string; getName(): string; getParent(): string },
      cb: unknown,
    ): Promise<void>;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    engine.noteParent(req.getType(), req.getName(), req.getParent() || undefined);
    return original(req, cb);
  };
}

/** Is this input value a Pulumi secret as it arrives at the engine? */
export function isSecretValue(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG
  );
}

/** Replaces wrapped secrets with their values (for policy checks that read documents). */
export function unwrapSecrets(value: unknown): unknown {
  if (isSecretValue(value)) return unwrapSecrets((value as { value: unknown }).value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

function numericId(text: string): number {
  return parseInt(digest(text, 6), 16);
}
