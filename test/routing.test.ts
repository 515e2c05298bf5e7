import * as fc from "fast-check";
import { LIMITS, physicalName, shortSha, targetGroupName, versionHost } from "../components/naming";
import {
  ALB_QUOTAS,
  defaultRuleBlock,
  livePriority,
  MAX_RULE_BLOCK,
  planRoutes,
  RoutedService,
  versionPriority,
} from "../components/routing";
import { MAX_SLOT, parseReleaseState, ReleaseState, serializeReleaseState } from "../release/state";

const hex = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: min, maxLength: max });
const serviceName = fc
  .tuple(
    fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz"),
    fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-"), maxLength: 38 }),
    fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"),
  )
  .map(([a, b, c]) => `${a}${b}${c}`.replace(/--+/g, "-"));

function services(n: number): RoutedService[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `svc${i}`,
    ruleBlock: i + 1,
    explicitBlock: true,
  }));
}

function releases(n: number, versions: number): Record<string, ReleaseState> {
  const out: Record<string, ReleaseState> = {};
  for (let i = 0; i < n; i++) {
    const shas = Array.from(
      { length: versions },
      (_, v) => `${(i * 16 + v).toString(16).padStart(7, "0")}`,
    );
    out[`svc${i}`] = parseReleaseState(
      { versions: shas, live: shas[0] },
      `releases.svc${i}`,
    ).state!;
  }
  return out;
}

describe("AWS names", () => {
  test("physical names never exceed their limit and stay [a-z0-9-] without edge hyphens", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string(), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 16, max: 64 }),
        (parts, max) => {
          const name = physicalName(max, "cutover", ...parts);
          expect(name.length).toBeLessThanOrEqual(max);
          expect(name).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
        },
      ),
    );
  });

  test("two long names that differ only at the end still get different physical names", () => {
    const a = physicalName(32, "prod", "a-very-long-service-name-for-billing", "3f9c2ab");
    const b = physicalName(32, "prod", "a-very-long-service-name-for-billing", "9d1e0f4");
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThanOrEqual(32);
  });

  test("every valid service and SHA yields a target group name AWS accepts", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("dev", "stage", "prod"),
        serviceName,
        hex(7, 40),
        (target, svc, sha) => {
          const name = targetGroupName(target, svc, sha, 8080);
          expect(name.length).toBeLessThanOrEqual(LIMITS.targetGroup);
          expect(name).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
          // The version host keeps a single DNS label under the wildcard certificate.
          const label = versionHost(svc, sha, "stage.example.com").split(".")[0];
          expect(label.length).toBeLessThanOrEqual(LIMITS.dnsLabel);
          expect(label.endsWith(shortSha(sha))).toBe(true);
        },
      ),
    );
  });
});

describe("listener rule priorities", () => {
  test("live and version priorities stay inside ALB's 1–50000 and inside the service's block", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_RULE_BLOCK }),
        fc.integer({ min: 1, max: MAX_SLOT }),
        (block, slot) => {
          const live = livePriority(block);
          const version = versionPriority(block, slot);
          expect(live).toBeGreaterThanOrEqual(1);
          expect(version).toBeLessThanOrEqual(50000);
          expect(Math.floor(version / 100)).toBe(block);
          expect(version).not.toBe(live);
        },
      ),
    );
  });

  test("a service's default block depends on its name only", () => {
    fc.assert(
      fc.property(serviceName, (name) => {
        const block = defaultRuleBlock(name);
        expect(block).toBe(defaultRuleBlock(name));
        expect(block).toBeGreaterThanOrEqual(1);
        expect(block).toBeLessThanOrEqual(MAX_RULE_BLOCK);
      }),
    );
  });

  test("no two hosts of a valid plan share a priority, and a version keeps its slot when others come and go", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(hex(7, 7), { minLength: 1, maxLength: 10 }),
        fc.nat(),
        (shas, pick) => {
          const full = parseReleaseState({ versions: shas }, "r").state!;
          const { routes, errors } = planRoutes(services(1), { svc0: full }, "example.com");
          expect(errors).toEqual([]);
          expect(new Set(routes.map((r) => r.priority)).size).toBe(routes.length);
          // Stored as the release command stores it, then every other version retired:
          const stored = serializeReleaseState(full);
          const keep = shas[pick % shas.length];
          const kept = parseReleaseState(
            { versions: [keep], slots: { [keep]: stored.slots![keep] } },
            "r",
          ).state!;
          expect(kept.versions[0].slot).toBe(full.versions.find((v) => v.sha === keep)!.slot);
        },
      ),
    );
  });
});

describe("ALB quotas at plan time", () => {
  test("5 services × 2 versions fit on one ALB", () => {
    expect(planRoutes(services(5), releases(5, 2), "example.com").errors).toEqual([]);
  });

  test("33 services × 2 versions is the most that fits 100 rules", () => {
    expect(planRoutes(services(33), releases(33, 2), "example.com").errors).toEqual([]);
    const { errors } = planRoutes(services(34), releases(34, 2), "example.com");
    expect(errors.join("\n")).toMatch(
      /need 102 listener rules.*allows 100 rules.*at most 33 services with 2 version\(s\) each/,
    );
  });

  test("50 services × 2 versions is refused with how many fit", () => {
    const { errors } = planRoutes(services(50), releases(50, 2), "example.com");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/50 services with 100 deployed versions need 150 listener rules/);
    expect(errors[0]).toMatch(/at most 33 services/);
  });

  test("the quota numbers are AWS's", () => {
    expect(ALB_QUOTAS).toEqual({
      rulesPerListener: 100,
      targetGroupsPerLoadBalancer: 100,
      targetGroupsPerForwardAction: 5,
    });
  });
});

describe("release state documents", () => {
  test("what the release command stores parses back to the same state", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(hex(7, 40), { minLength: 1, maxLength: 10, selector: (s) => s.slice(0, 7) }),
        fc.integer({ min: 0, max: 100 }),
        (shas, w) => {
          const live =
            shas.length > 1 && w > 0 && w < 100 ? { [shas[0]]: w, [shas[1]]: 100 - w } : shas[0];
          const first = parseReleaseState({ versions: shas, live }, "r");
          expect(first.errors).toEqual([]);
          const again = parseReleaseState(serializeReleaseState(first.state!), "r");
          expect(again.state).toEqual(first.state);
        },
      ),
    );
  });
});
