import { z } from "zod";
import { shortSha } from "../components/naming";

/**
 * The release state of one service: which versions (commit SHAs) are deployed, which of them take
 * live traffic, and the listener-rule slot each version holds. The same shape lives in SSM (one
 * parameter per service, written by the release command) and may be pinned in a stack file under
 * `cutover:releases`.
 *
 * ```yaml
 * versions: [3f9c2ab, 9d1e0f4]          # deployed SHAs, 7-40 hex; the release command keeps the
 *                                       # live one last, the one it replaced just before it
 *                                       # (the rollback target)
 * live: { 3f9c2ab: 90, 9d1e0f4: 10 }    # or `live: 9d1e0f4`; absent = no release yet
 * slots: { 3f9c2ab: 1, 9d1e0f4: 2 }     # optional; the release command always writes it. A
 *                                       # version without one takes a slot derived from its SHA.
 * ```
 */

/** Versions one service may have deployed at once (each holds a target group and a rule). */
export const MAX_VERSIONS_PER_SERVICE = 10;
/** Rule slots inside a service's priority block: block*100 + 1 … block*100 + 99. */
export const MAX_SLOT = 99;

const SHA = /^[0-9a-f]{7,40}$/;
const shaSchema = z
  .string({
    error: (iss) =>
      typeof iss.input === "number"
        ? `is the number ${iss.input}; quote SHAs in YAML ("${iss.input}"), an all-digit SHA is read as a number`
        : "must be a commit SHA (a string of 7-40 hex characters)",
  })
  .transform((s) => s.toLowerCase())
  .refine((s) => SHA.test(s), {
    error: (iss) =>
      `is ${JSON.stringify(iss.input)}; a version is a commit SHA of 7-40 hex characters`,
  });

export const releaseStateSchema = z.strictObject({
  versions: z.array(shaSchema).max(MAX_VERSIONS_PER_SERVICE, {
    error: `lists more than ${MAX_VERSIONS_PER_SERVICE} versions; retire old ones first`,
  }),
  live: z
    .union([z.string(), z.record(z.string(), z.number().int().min(0).max(100))], {
      error: "must be one SHA or a map of SHA to weight (0-100), e.g. { 3f9c2ab: 90, 9d1e0f4: 10 }",
    })
    .optional(),
  slots: z.record(z.string(), z.number().int().min(1).max(MAX_SLOT)).optional(),
});

export type RawReleaseState = z.input<typeof releaseStateSchema>;

export interface Version {
  /** The SHA as deployed (image tag), lower case. */
  readonly sha: string;
  /** First 7 characters, used in host names and resource names. */
  readonly short: string;
  /** Listener-rule slot inside the service's priority block; never changes while deployed. */
  readonly slot: number;
}

export interface LiveTarget {
  readonly sha: string;
  readonly weight: number;
}

/** A validated release state. `live` is empty before the first release. */
export interface ReleaseState {
  readonly versions: readonly Version[];
  readonly live: readonly LiveTarget[];
}

export const EMPTY_RELEASE: ReleaseState = { versions: [], live: [] };

/**
 * Checks a raw release state and resolves it: SHAs lower-cased, every version given a stable
 * slot, live entries matched to deployed versions. Returns the problems as sentences that start
 * with `where` (e.g. "`releases.api`"); an empty `errors` means `state` is usable.
 */
export function parseReleaseState(
  raw: unknown,
  where: string,
): { state?: ReleaseState; errors: string[] } {
  const parsed = releaseStateSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      errors: parsed.error.issues.map((issue) => {
        const path = [where.replace(/`/g, ""), ...issue.path.map(String)].join(".");
        if (issue.code === "unrecognized_keys") {
          return `\`${path}\` has unknown key(s) ${issue.keys.join(", ")}; allowed: versions, live, slots`;
        }
        return `\`${path}\` ${issue.message}`;
      }),
    };
  }
  const errors: string[] = [];
  const { versions, live, slots = {} } = parsed.data;

  const seen = new Map<string, string>();
  for (const sha of versions) {
    const short = shortSha(sha);
    const other = seen.get(short);
    if (other !== undefined) {
      errors.push(
        `${where}.versions lists ${sha} and ${other}, which share the short SHA ${short} used in ` +
          "host and resource names; deploy one of them",
      );
    }
    seen.set(short, sha);
  }

  const find = (key: string) =>
    versions.find((v) => v === key.toLowerCase() || shortSha(v) === key.toLowerCase());

  // Slots: explicit ones are kept; the others take their preferred slot (a hash of the SHA), or
  // the next free one. A version's slot then does not depend on which other versions exist.
  const resolved: Version[] = [];
  const taken = new Map<number, string>();
  for (const [key, slot] of Object.entries(slots)) {
    const sha = find(key);
    if (sha === undefined) {
      errors.push(`${where}.slots names ${key}, which is not in ${where}.versions; remove it`);
      continue;
    }
    const holder = taken.get(slot);
    if (holder !== undefined) {
      errors.push(
        `${where}.slots gives slot ${slot} to both ${holder} and ${sha}; each version needs its own`,
      );
    }
    taken.set(slot, sha);
  }
  const slotOf = new Map<string, number>();
  for (const [slot, sha] of taken) slotOf.set(sha, slot);
  for (const sha of versions) {
    let slot = slotOf.get(sha);
    if (slot === undefined) {
      slot = preferredSlot(sha);
      while (taken.has(slot)) slot = (slot % MAX_SLOT) + 1;
      taken.set(slot, sha);
    }
    resolved.push({ sha, short: shortSha(sha), slot });
  }

  let liveTargets: LiveTarget[] = [];
  if (typeof live === "string") {
    const sha = find(live);
    if (sha === undefined)
      errors.push(`${where}.live is ${live}, which is not in ${where}.versions; stage it first`);
    else liveTargets = [{ sha, weight: 100 }];
  } else if (live !== undefined) {
    const entries = Object.entries(live).filter(([, weight]) => weight > 0);
    if (entries.length === 0 || entries.length > 2) {
      errors.push(
        `${where}.live names ${entries.length} version(s) with weight; give weight to one version, or two during a canary`,
      );
    }
    const sum = Object.values(live).reduce((a, b) => a + b, 0);
    if (sum !== 100) errors.push(`${where}.live weights sum to ${sum}; they must sum to 100`);
    for (const [key, weight] of entries) {
      const sha = find(key);
      if (sha === undefined)
        errors.push(
          `${where}.live names ${key}, which is not in ${where}.versions; stage it first`,
        );
      else liveTargets.push({ sha, weight });
    }
    liveTargets = liveTargets.sort((a, b) => b.weight - a.weight || a.sha.localeCompare(b.sha));
  }
  return errors.length > 0
    ? { errors }
    : { state: { versions: resolved, live: liveTargets }, errors };
}

/** The slot a version takes unless it is taken: derived from the short SHA alone. */
export function preferredSlot(sha: string): number {
  return (parseInt(shortSha(sha), 16) % MAX_SLOT) + 1;
}

/** The inverse of `parseReleaseState`: the document the release command stores. */
export function serializeReleaseState(state: ReleaseState): RawReleaseState {
  const out: RawReleaseState = {
    versions: state.versions.map((v) => v.sha),
    slots: Object.fromEntries(state.versions.map((v) => [v.sha, v.slot])),
  };
  if (state.live.length === 1) out.live = state.live[0].sha;
  else if (state.live.length > 1)
    out.live = Object.fromEntries(state.live.map((l) => [l.sha, l.weight]));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Changes the release command makes. Pure functions over `ReleaseState`; each returns a new state.
//
// Order of `versions`: the release command keeps it oldest first, in the order versions were
// staged, except that promoting a version moves the version it replaces and then the promoted
// one to the end. So the version just before the live one is always the one that was live before
// it: `rollbackTarget` and `retirePlan` rely on that, and it survives a round trip through SSM
// because `serializeReleaseState` keeps the order and always writes the slots.
// ---------------------------------------------------------------------------------------------

/** The deployed version with exactly this SHA (any case), if any. */
export function findVersion(state: ReleaseState, sha: string): Version | undefined {
  const wanted = sha.toLowerCase();
  return state.versions.find((v) => v.sha === wanted);
}

/** Is `sha` taking live traffic (alone or in a canary)? */
export function isLive(state: ReleaseState, sha: string): boolean {
  const wanted = sha.toLowerCase();
  return state.live.some((l) => l.sha === wanted);
}

/** The lowest listener-rule slot no deployed version holds. */
export function lowestFreeSlot(state: ReleaseState): number {
  const taken = new Set(state.versions.map((v) => v.slot));
  let slot = 1;
  while (taken.has(slot)) slot++;
  return slot;
}

/**
 * Why `sha` cannot be added to `state`, as a sentence, or `undefined` when it can (or already is
 * deployed). `service` only names the service in the message.
 */
export function stagingProblem(
  state: ReleaseState,
  sha: string,
  service: string,
): string | undefined {
  const wanted = sha.toLowerCase();
  if (findVersion(state, wanted)) return undefined;
  const twin = state.versions.find((v) => v.short === shortSha(wanted));
  if (twin) {
    return (
      `${service} already has ${twin.sha} deployed, which shares the short SHA ${twin.short} used in ` +
      `host and resource names with ${wanted}; release ${twin.sha} itself or retire it first`
    );
  }
  if (state.versions.length >= MAX_VERSIONS_PER_SERVICE) {
    return (
      `${service} already has ${state.versions.length} versions deployed (the most one service may have); ` +
      "retire old ones first (release with a smaller --keep)"
    );
  }
  if (lowestFreeSlot(state) > MAX_SLOT) {
    return `${service} has no free listener-rule slot left; retire old versions first`;
  }
  return undefined;
}

/** `state` with `sha` deployed in the lowest free slot; unchanged when it is already deployed. */
export function stageVersion(state: ReleaseState, sha: string): ReleaseState {
  const wanted = sha.toLowerCase();
  if (findVersion(state, wanted)) return state;
  if (!SHA.test(wanted)) throw new Error(`${sha} is not a commit SHA of 7-40 hex characters`);
  const version: Version = { sha: wanted, short: shortSha(wanted), slot: lowestFreeSlot(state) };
  return { versions: [...state.versions, version], live: state.live };
}

/**
 * `state` with live traffic sent to `live` (one version at 100, or two whose weights sum to 100).
 * Entries with weight 0 are dropped; the order is the one `parseReleaseState` produces.
 */
export function withLive(state: ReleaseState, live: readonly LiveTarget[]): ReleaseState {
  const targets = live
    .filter((l) => l.weight > 0)
    .map((l) => ({ sha: l.sha.toLowerCase(), weight: l.weight }));
  for (const t of targets) {
    if (!findVersion(state, t.sha)) throw new Error(`${t.sha} is not deployed; it cannot be live`);
  }
  const sum = targets.reduce((n, t) => n + t.weight, 0);
  if (targets.length > 2 || (targets.length > 0 && sum !== 100)) {
    throw new Error(`live traffic must go to one version, or two whose weights sum to 100`);
  }
  return {
    versions: state.versions,
    live: targets.sort((a, b) => b.weight - a.weight || a.sha.localeCompare(b.sha)),
  };
}

/**
 * `state` with `from` (the version being replaced, if any) and then `to` moved to the end of
 * `versions`, so `from` becomes `to`'s rollback target. Slots do not change.
 */
export function promotionOrder(
  state: ReleaseState,
  from: string | undefined,
  to: string,
): ReleaseState {
  const moved = [from, to].filter((s): s is string => s !== undefined).map((s) => s.toLowerCase());
  const tail = moved.map((sha) => findVersion(state, sha)).filter((v): v is Version => !!v);
  return {
    versions: [...state.versions.filter((v) => !moved.includes(v.sha)), ...tail],
    live: state.live,
  };
}

/** `state` without the given versions. Refuses to remove a live one. */
export function removeVersions(state: ReleaseState, shas: readonly string[]): ReleaseState {
  const gone = new Set(shas.map((s) => s.toLowerCase()));
  for (const l of state.live) {
    if (gone.has(l.sha)) throw new Error(`${l.sha} takes live traffic; it cannot be retired`);
  }
  return { versions: state.versions.filter((v) => !gone.has(v.sha)), live: state.live };
}

/**
 * Where `rollback` sends live traffic: during a canary, the older of the two live versions; else
 * the version deployed just before the live one. `undefined` when there is none.
 */
export function rollbackTarget(state: ReleaseState): string | undefined {
  const index = (sha: string) => state.versions.findIndex((v) => v.sha === sha);
  if (state.live.length > 1) {
    return [...state.live].sort((a, b) => index(a.sha) - index(b.sha))[0].sha;
  }
  if (state.live.length === 0) return undefined;
  const at = index(state.live[0].sha);
  return at > 0 ? state.versions[at - 1].sha : undefined;
}

/**
 * Versions to retire so that only the live one and the `keep` versions deployed just before it
 * remain. Nothing is retired before the first release or during a canary.
 */
export function retirePlan(state: ReleaseState, keep: number): string[] {
  if (state.live.length !== 1) return [];
  const at = state.versions.findIndex((v) => v.sha === state.live[0].sha);
  const kept = new Set(state.versions.slice(Math.max(0, at - keep), at + 1).map((v) => v.sha));
  return state.versions.filter((v) => !kept.has(v.sha)).map((v) => v.sha);
}

/** Do two states deploy the same versions in the same order and slots, with the same live split? */
export function sameReleaseState(a: ReleaseState, b: ReleaseState): boolean {
  return JSON.stringify(serializeReleaseState(a)) === JSON.stringify(serializeReleaseState(b));
}

/** Live traffic in words: `3f9c2ab`, `3f9c2ab 90% + 9d1e0f4 10%`, or `no release`. */
export function describeLive(live: readonly LiveTarget[]): string {
  if (live.length === 0) return "no release";
  if (live.length === 1) return shortSha(live[0].sha);
  return live.map((l) => `${shortSha(l.sha)} ${l.weight}%`).join(" + ");
}
