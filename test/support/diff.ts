import { RecordedResource } from "../../engine/mocks";

export interface PlanDiff {
  readonly added: string[];
  readonly deleted: string[];
  /** Resources whose inputs differ, with the input keys that changed. */
  readonly changed: { urn: string; keys: string[] }[];
}

/** What `pulumi up` would do to go from run `before` to run `after`, by URN and inputs. */
export function diffRuns(
  before: readonly RecordedResource[],
  after: readonly RecordedResource[],
): PlanDiff {
  const a = new Map(before.map((r) => [r.urn, r]));
  const b = new Map(after.map((r) => [r.urn, r]));
  const added = [...b.keys()].filter((urn) => !a.has(urn)).sort();
  const deleted = [...a.keys()].filter((urn) => !b.has(urn)).sort();
  const changed: { urn: string; keys: string[] }[] = [];
  for (const [urn, old] of a) {
    const now = b.get(urn);
    if (!now) continue;
    const keys = [...new Set([...Object.keys(old.inputs), ...Object.keys(now.inputs)])].filter(
      (k) => JSON.stringify(old.inputs[k]) !== JSON.stringify(now.inputs[k]),
    );
    if (keys.length > 0) changed.push({ urn, keys: keys.sort() });
  }
  return { added, deleted, changed };
}

/** The Pulumi name (last URN segment) of each URN. */
export function names(urns: readonly string[]): string[] {
  return urns.map((u) => u.split("::").pop()!).sort();
}
