import fc from "fast-check";
import {
  describeLive,
  MAX_VERSIONS_PER_SERVICE,
  parseReleaseState,
  promotionOrder,
  ReleaseState,
  removeVersions,
  retirePlan,
  rollbackTarget,
  serializeReleaseState,
  stageVersion,
  stagingProblem,
  withLive,
} from "../release/state";

/** The pure state changes the release command makes, and the invariants they keep. */

const sha = (c: string) => c.repeat(40);
const state = (raw: Parameters<typeof parseReleaseState>[0]) => parseReleaseState(raw, "s").state!;
const roundTrip = (s: ReleaseState) =>
  parseReleaseState(JSON.parse(JSON.stringify(serializeReleaseState(s))), "s");

/** What the release command does to the state for a successful release of `next`. */
function released(s: ReleaseState, next: string, keep: number): ReleaseState {
  const previous = s.live[0]?.sha;
  const staged = stageVersion(s, next);
  const live = withLive(promotionOrder(staged, previous, next), [{ sha: next, weight: 100 }]);
  return removeVersions(live, retirePlan(live, keep));
}

describe("release state changes", () => {
  it("gives a new version the lowest slot no deployed version holds", () => {
    // GIVEN versions in slots 1 and 3
    const s = state({
      versions: [sha("a"), sha("b")],
      live: sha("b"),
      slots: { [sha("a")]: 1, [sha("b")]: 3 },
    });

    // WHEN a third is staged
    const next = stageVersion(s, sha("c"));

    // THEN it takes slot 2 and the others keep theirs
    expect(next.versions.map((v) => v.slot)).toEqual([1, 3, 2]);
  });

  it("refuses an eleventh version and a SHA whose short form collides", () => {
    // GIVEN the most versions one service may have
    const hex = "0123456789";
    const full = state({ versions: [...hex].map(sha), live: sha("0") });

    // THEN staging one more, or a SHA sharing a short form, is refused with the fix
    expect(full.versions).toHaveLength(MAX_VERSIONS_PER_SERVICE);
    expect(stagingProblem(full, sha("f"), "api")).toMatch(/retire old ones first/);
    expect(stagingProblem(full, `${"1".repeat(7)}${"e".repeat(33)}`, "api")).toMatch(
      /shares the short SHA 1111111/,
    );
    expect(stagingProblem(full, sha("1"), "api")).toBeUndefined();
  });

  it("never retires the live version, and nothing during a canary", () => {
    // GIVEN a canary between two versions
    const s = state({ versions: [sha("a"), sha("b")], live: { [sha("a")]: 50, [sha("b")]: 50 } });

    // THEN nothing is planned for retirement, and retiring a live version is refused
    expect(retirePlan(s, 0)).toEqual([]);
    expect(() => removeVersions(s, [sha("a")])).toThrow(/takes live traffic/);
  });

  it("rolls a canary back to the older of its two versions", () => {
    // GIVEN b (newer) taking 90% of the traffic from a
    const s = state({ versions: [sha("a"), sha("b")], live: { [sha("a")]: 10, [sha("b")]: 90 } });

    // THEN rollback goes to a
    expect(rollbackTarget(s)).toBe(sha("a"));
  });

  it("describes live traffic in words", () => {
    expect(describeLive([])).toBe("no release");
    expect(describeLive([{ sha: sha("a"), weight: 100 }])).toBe("aaaaaaa");
    expect(
      describeLive([
        { sha: sha("b"), weight: 90 },
        { sha: sha("a"), weight: 10 },
      ]),
    ).toBe("bbbbbbb 90% + aaaaaaa 10%");
  });

  it("refuses live traffic to a version that is not deployed or weights that do not sum to 100", () => {
    const s = state({ versions: [sha("a"), sha("b")], live: sha("a") });
    expect(() => withLive(s, [{ sha: sha("c"), weight: 100 }])).toThrow(/not deployed/);
    expect(() =>
      withLive(s, [
        { sha: sha("a"), weight: 50 },
        { sha: sha("b"), weight: 40 },
      ]),
    ).toThrow(/sum to 100/);
  });

  it("keeps every invariant over any sequence of releases and rollbacks", () => {
    const shas = [..."0123456789abcdef"].map(sha);
    const step = fc.oneof(
      fc.record({
        kind: fc.constant("release" as const),
        sha: fc.constantFrom(...shas),
        keep: fc.integer({ min: 0, max: 3 }),
      }),
      fc.record({ kind: fc.constant("rollback" as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        let s: ReleaseState = { versions: [], live: [] };
        for (const op of steps) {
          const slots = new Map(s.versions.map((v) => [v.sha, v.slot]));
          const before = s.live[0]?.sha;
          if (op.kind === "release") {
            if (s.live.some((l) => l.sha === op.sha)) continue;
            if (stagingProblem(s, op.sha, "api") !== undefined) continue;
            s = released(s, op.sha, op.keep);
            // The version it replaced is its rollback target (when one is kept).
            if (before !== undefined && op.keep >= 1) expect(rollbackTarget(s)).toBe(before);
            // Exactly the live version and up to `keep` others remain.
            expect(s.versions.length).toBeLessThanOrEqual(op.keep + 1);
          } else {
            const target = rollbackTarget(s);
            if (target === undefined) continue;
            s = withLive(s, [{ sha: target, weight: 100 }]);
          }
          // Slots never move while a version stays deployed.
          for (const v of s.versions) {
            if (slots.has(v.sha)) expect(v.slot).toBe(slots.get(v.sha));
          }
          // Live traffic only goes to deployed versions; the stored form reads back the same.
          for (const l of s.live) expect(s.versions.some((v) => v.sha === l.sha)).toBe(true);
          expect(roundTrip(s)).toEqual({ state: s, errors: [] });
        }
      }),
    );
  });
});
