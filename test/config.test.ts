import * as fc from "fast-check";
import {
  ConfigError,
  FARGATE_SIZES,
  parseConfig,
  ParseContext,
  RawConfig,
  subnetPlan,
  TARGET_DEFAULTS,
} from "../config";
import { MockEngine } from "../engine/mocks";
import { runStack } from "../engine/run";
import { problemsOf as problemsIn } from "./support/config";

const ctx: ParseContext = { project: "cutover", stack: "stage", region: "eu-west-1" };

function valid(): RawConfig {
  return {
    target: "stage",
    domain: "stage.example.com",
    hostedZone: "example.com",
    network: { cidr: "10.20.0.0/16", availabilityZones: 2, nat: "single" },
    services: {
      api: { port: 8080, healthCheckPath: "/health", cpu: 256, memory: 512 },
      web: { port: 3000, healthCheckPath: "/healthz", cpu: 512, memory: 1024 },
    },
  };
}

function problemsOf(raw: RawConfig, context = ctx): string[] {
  return problemsIn(raw, context);
}

/** Each bad config: what is wrong (a patch over a valid config) and words the message must hold. */
const BAD: [string, (c: RawConfig) => void, RegExp][] = [
  [
    "a target outside dev/stage/prod",
    (c) => (c.target = "qa"),
    /`target` is "qa".*dev, stage or prod/,
  ],
  ["a missing domain", (c) => delete c.domain, /`domain` is required/],
  [
    "a domain outside the hosted zone",
    (c) => (c.domain = "stage.other.org"),
    /`domain`.*not inside `hostedZone`/,
  ],
  [
    "a domain so long that version hosts exceed an ALB host rule",
    (c) => {
      c.hostedZone = "example.com";
      c.domain = `${"a".repeat(60)}.${"b".repeat(60)}.example.com`;
    },
    /host api\..* is longer than DNS or an ALB host rule \(128 characters\) allows/,
  ],
  [
    "a domain that is not a DNS name",
    (c) => (c.domain = "Stage_Example"),
    /`domain` must be a lower-case DNS name/,
  ],
  [
    "eks compute, not available yet",
    (c) => (c.compute = "eks"),
    /`compute` is eks; EKS is not available/,
  ],
  ["an unknown compute", (c) => (c.compute = "lambda"), /`compute` is "lambda"/],
  [
    "a CIDR that does not parse",
    (c) => (net(c).cidr = "10.20.0.0"),
    /`network.cidr` is "10.20.0.0"; write an IPv4 CIDR/,
  ],
  [
    "a CIDR with host bits set",
    (c) => (net(c).cidr = "10.20.1.0/16"),
    /host bits set; did you mean 10.20.0.0\/16/,
  ],
  ["a public CIDR", (c) => (net(c).cidr = "8.8.0.0/16"), /not a private \(RFC 1918\) range/],
  ["a CIDR too large for a VPC", (c) => (net(c).cidr = "10.0.0.0/8"), /from \/16 to \/28/],
  [
    "a CIDR too small for the subnets",
    (c) => (net(c).cidr = "10.20.0.0/26"),
    /`network.cidr` \/26 is too small.*an ALB needs at least \/27; use \/22 or larger/,
  ],
  [
    "one availability zone",
    (c) => (net(c).availabilityZones = 1),
    /`network.availabilityZones` must be at least 2/,
  ],
  [
    "an unknown NAT mode",
    (c) => (net(c).nat = "many"),
    /`network.nat` must be none, single or perAz/,
  ],
  [
    "a misspelt network key",
    (c) => (net(c).cdir = "10.0.0.0/16"),
    /`network.cdir` is not a setting/,
  ],
  ["a misspelt top-level key", (c) => (c.servics = {}), /`cutover:servics` is not a setting/],
  [
    "a misspelt service key",
    (c) => (svc(c).helthCheckPath = "/"),
    /`services.api.helthCheckPath` is not a setting/,
  ],
  ["no services", (c) => (c.services = {}), /`services` must define at least one service/],
  [
    "a Fargate cpu AWS refuses",
    (c) => (svc(c).cpu = 300),
    /`services.api.cpu` is 300; Fargate accepts 256, 512/,
  ],
  [
    "a memory size the cpu does not allow",
    (c) => (svc(c).memory = 4096),
    /`services.api.memory` is 4096 with cpu 256; Fargate accepts 512, 1024, 2048/,
  ],
  ["port 0", (c) => (svc(c).port = 0), /`services.api.port` must be a TCP port from 1 to 65535/],
  ["port 70000", (c) => (svc(c).port = 70000), /`services.api.port` must be a TCP port/],
  [
    "a relative health check path",
    (c) => (svc(c).healthCheckPath = "health"),
    /`services.api.healthCheckPath` must be an absolute path/,
  ],
  [
    "a service name that is not a DNS label",
    (c) => rename(c, "Api_v2"),
    /`services.Api_v2`.*not a usable service name/,
  ],
  [
    "a service name too long for host names",
    (c) => rename(c, "a".repeat(41)),
    /not a usable service name.*at most 40/,
  ],
  [
    "a secret-looking plain environment variable",
    (c) => (svc(c).environment = { DB_PASSWORD: "x" }),
    /`services.api.environment` holds a secret-looking name/,
  ],
  [
    "a log retention CloudWatch refuses",
    (c) => (c.logRetentionDays = 10),
    /`logRetentionDays` must be one of CloudWatch's retention periods/,
  ],
  [
    "a prod service with one task",
    (c) => {
      c.target = "prod";
      svc(c).desiredCount = 1;
    },
    /`services.api.desiredCount` is 1; prod runs at least 2/,
  ],
  [
    "a release of an unknown service",
    (c) => (c.releases = { billing: { versions: ["3f9c2ab"], live: "3f9c2ab" } }),
    /`releases.billing` releases an unknown service/,
  ],
  [
    "a SHA that is not hex",
    (c) => (c.releases = { api: { versions: ["main"] } }),
    /`releases.api.versions.0` is "main"; a version is a commit SHA of 7-40 hex/,
  ],
  [
    "an all-digit SHA that YAML read as a number",
    (c) => (c.releases = { api: { versions: [1234567] } }),
    /`releases.api.versions.0` is the number 1234567; quote SHAs in YAML/,
  ],
  [
    "a SHA too short",
    (c) => (c.releases = { api: { versions: ["3f9c2a"] } }),
    /commit SHA of 7-40 hex/,
  ],
  [
    "a live SHA not among the versions",
    (c) => (c.releases = { api: { versions: ["3f9c2ab"], live: "9d1e0f4" } }),
    /`releases.api`.live is 9d1e0f4, which is not in `releases.api`.versions/,
  ],
  [
    "weights that do not sum to 100",
    (c) =>
      (c.releases = {
        api: { versions: ["3f9c2ab", "9d1e0f4"], live: { "3f9c2ab": 80, "9d1e0f4": 10 } },
      }),
    /weights sum to 90; they must sum to 100/,
  ],
  [
    "weights on three versions",
    (c) =>
      (c.releases = {
        api: {
          versions: ["3f9c2ab", "9d1e0f4", "1234567"],
          live: { "3f9c2ab": 50, "9d1e0f4": 25, "1234567": 25 },
        },
      }),
    /names 3 version\(s\) with weight; give weight to one version, or two/,
  ],
  [
    "two versions with one short SHA",
    (c) => (c.releases = { api: { versions: ["3f9c2ab1", "3f9c2ab2"] } }),
    /share the short SHA 3f9c2ab/,
  ],
  [
    "a misspelt release key",
    (c) => (c.releases = { api: { version: ["3f9c2ab"] } }),
    /`releases.api` has unknown key\(s\) version/,
  ],
  [
    "a service whose host collides with a version host",
    (c) => {
      (c.services as Record<string, unknown>)["api-3f9c2ab"] = {
        port: 80,
        healthCheckPath: "/",
        cpu: 256,
        memory: 512,
      };
      c.releases = { api: { versions: ["3f9c2ab"] } };
    },
    /host api-3f9c2ab.stage.example.com would serve both service `api` and service `api-3f9c2ab`/,
  ],
  [
    "two services in one rule block",
    (c) => {
      svc(c).ruleBlock = 9;
      (c.services as Record<string, Record<string, unknown>>).web.ruleBlock = 9;
    },
    /both take listener-rule block 9; set `services.web.ruleBlock`/,
  ],
  [
    "a GitHub owner that is not a login",
    (c) => (c.github = { owner: "-acme", repository: "shop" }),
    /`github.owner` must be a GitHub user or organization login/,
  ],
];

function net(c: RawConfig): Record<string, unknown> {
  return c.network as Record<string, unknown>;
}
function svc(c: RawConfig): Record<string, unknown> {
  return (c.services as Record<string, Record<string, unknown>>).api;
}
function rename(c: RawConfig, name: string): void {
  const services = c.services as Record<string, unknown>;
  services[name] = services.api;
  delete services.api;
}

describe("config validation", () => {
  test("the valid baseline is accepted (so every refusal below is caused by its patch)", () => {
    expect(problemsOf(valid())).toEqual([]);
  });

  test.each(BAD)("refuses %s, naming the key and the fix", (_what, patch, message) => {
    // GIVEN a valid config with one mistake
    const raw = valid();
    patch(raw);
    // WHEN it is parsed; THEN it is refused with a message naming the key
    const problems = problemsOf(raw);
    expect(problems.join("\n")).toMatch(message);
  });

  test("reports every problem at once rather than one per run", () => {
    const raw = valid();
    svc(raw).cpu = 300;
    net(raw).cidr = "10.20.1.0/16";
    raw.domain = "stage.other.org";
    expect(problemsOf(raw).length).toBe(3);
  });

  test("refuses when aws:region is unset", () => {
    expect(problemsOf(valid(), { ...ctx, region: undefined } as never).join("\n")).toMatch(
      /`aws:region` is not set; run `pulumi config set aws:region/,
    );
  });

  test("refuses plaintext secrets and tells how to encrypt them", () => {
    const raw = { ...valid(), secrets: { SLACK_WEBHOOK: "https://hooks.example.com/x" } };
    expect(problemsOf(raw, { ...ctx, secretsEncrypted: false }).join("\n")).toMatch(
      /`secrets` is stored in plaintext.*pulumi config set --secret --path/,
    );
    expect(problemsOf(raw, { ...ctx, secretsEncrypted: true })).toEqual([]);
  });
});

describe("per-target defaults", () => {
  test.each(["dev", "stage", "prod"] as const)("%s gets its defaults from one table", (target) => {
    const raw = valid();
    raw.target = target;
    delete net(raw).nat;
    delete net(raw).availabilityZones;
    const cfg = parseConfig(raw, ctx);
    const d = TARGET_DEFAULTS[target];
    expect(cfg.network.nat).toBe(d.nat);
    expect(cfg.network.availabilityZones).toBe(d.availabilityZones);
    expect(cfg.services[0].desiredCount).toBe(d.desiredCount);
    expect(cfg.logRetentionDays).toBe(d.logRetentionDays);
    expect(cfg.deletionProtection).toBe(d.deletionProtection);
  });

  test("dev is cheap and prod is safe", () => {
    expect(TARGET_DEFAULTS.dev).toMatchObject({
      nat: "single",
      desiredCount: 1,
      deletionProtection: false,
    });
    expect(TARGET_DEFAULTS.prod).toMatchObject({ nat: "perAz", deletionProtection: true });
    expect(TARGET_DEFAULTS.prod.desiredCount).toBeGreaterThanOrEqual(2);
    expect(TARGET_DEFAULTS.prod.logRetentionDays).toBeGreaterThan(
      TARGET_DEFAULTS.dev.logRetentionDays,
    );
  });
});

describe("Fargate sizes", () => {
  test("accepts exactly the cpu/memory pairs AWS documents", () => {
    // Spot checks against the AWS table, including both ends of every range.
    const accepted: [number, number][] = [
      [256, 512],
      [256, 2048],
      [512, 1024],
      [512, 4096],
      [1024, 2048],
      [1024, 8192],
      [2048, 4096],
      [2048, 16384],
      [4096, 8192],
      [4096, 30720],
      [8192, 16384],
      [8192, 61440],
      [16384, 32768],
      [16384, 122880],
    ];
    const refused: [number, number][] = [
      [256, 3072],
      [512, 512],
      [1024, 9216],
      [4096, 31744],
      [8192, 20000],
      [16384, 36864],
    ];
    for (const [cpu, memory] of accepted) expect(FARGATE_SIZES[cpu]).toContain(memory);
    for (const [cpu, memory] of refused) expect(FARGATE_SIZES[cpu]).not.toContain(memory);
  });
});

describe("subnet layout", () => {
  test("every accepted CIDR leaves room for an ALB-sized public subnet in every AZ", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 28 }),
        fc.integer({ min: 2, max: 6 }),
        (prefix, azs) => {
          const raw = valid();
          net(raw).cidr = `10.0.0.0/${prefix}`;
          net(raw).availabilityZones = azs;
          const accepted = problemsOf(raw).length === 0;
          const plan = subnetPlan(`10.0.0.0/${prefix}`);
          // The AZ blocks fit in the VPC block, and each AZ's private + public subnets fit its block.
          expect(2 ** (plan.azMask - prefix)).toBeGreaterThanOrEqual(azs);
          expect(
            2 ** -(plan.privateMask - plan.azMask) + 2 ** -(plan.publicMask - plan.azMask),
          ).toBeLessThanOrEqual(1);
          // Accepted exactly when public subnets are at least /27 (what an ALB needs).
          expect(accepted).toBe(plan.publicMask <= 27);
        },
      ),
    );
  });
});

describe("refusal happens before any resource is registered", () => {
  test.each([
    [
      "a bad Fargate size",
      { "cutover:services": { api: { port: 8080, healthCheckPath: "/", cpu: 256, memory: 4096 } } },
    ],
    ["an unknown key", { "cutover:netwrok": { cidr: "10.0.0.0/16" } }],
    [
      "a live SHA not deployed",
      { "cutover:releases": { api: { versions: ["3f9c2ab"], live: "1234567" } } },
    ],
  ])("a stack file with %s registers nothing", async (_what, overrides) => {
    // GIVEN the real stage stack file with one bad value
    const engine = new MockEngine({ project: "cutover", stack: "stage" });
    // WHEN the program runs; THEN it is refused and the engine saw no resource at all
    await expect(runStack({ stack: "stage", overrides, engine })).rejects.toThrow(ConfigError);
    expect(engine.resources).toEqual([]);
  });

  test("the same stack file without the mistake does register resources", async () => {
    const engine = new MockEngine({ project: "cutover", stack: "stage" });
    await runStack({ stack: "stage", engine });
    expect(engine.resources.length).toBeGreaterThan(20);
  });
});
