import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { liveHost, versionHost } from "../components/naming";
import { PROJECT_DIR } from "../engine/run";
import { CliDeps, main, parseCommand, USAGE } from "../release/cli";
import { ReleaseBackend, StackOutputs } from "../release/orchestrator";
import { parseReleaseState, ReleaseState } from "../release/state";

/**
 * `npm run release -- ...`: the command line is checked, and the stack file read, before any
 * backend exists; then the exit code follows the outcome. The backend here is a small in-memory
 * target where every version is healthy (the orchestrator tests cover the failure paths).
 */

const SHA = "3f9c2ab0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6";
const NEXT = "9d1e0f4aa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6";
const RELEASE = ["--stack", "dev", "--service", "api", "--version", SHA];

interface Stub {
  readonly backend: ReleaseBackend;
  readonly states: Map<string, { state: ReleaseState; version: number }[]>;
}

function stub(options: { storeDown?: boolean; checksPass?: boolean } = {}): Stub {
  const states = new Map<string, { state: ReleaseState; version: number }[]>();
  let now = Date.parse("2025-01-01T00:00:00Z");
  const latest = (service: string) => states.get(service)?.at(-1);
  const outputs = (): StackOutputs => ({
    services: Object.fromEntries(
      ["api", "web"].map((service) => {
        const state = latest(service)?.state ?? { versions: [], live: [] };
        return [
          service,
          {
            liveHost: liveHost(service, "dev.example.com"),
            live: state.live,
            versions: Object.fromEntries(
              state.versions.map((v) => [
                v.sha,
                {
                  host: versionHost(service, v.sha, "dev.example.com"),
                  targetGroupArn: `arn:tg/${v.short}`,
                  alarmNames: [],
                  ecsService: `${service}-${v.short}`,
                },
              ]),
            ),
          },
        ];
      }),
    ),
  });
  const store = () => {
    if (options.storeDown) throw new Error("getaddrinfo ENOTFOUND ssm.eu-west-1.amazonaws.com");
  };
  const backend: ReleaseBackend = {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    readState: async (service) => {
      store();
      const last = latest(service);
      return last ?? { state: { versions: [], live: [] } };
    },
    writeState: async (service, state) => {
      const list = states.get(service) ?? [];
      list.push({ state, version: list.length + 1 });
      states.set(service, list);
      return list.length;
    },
    pinImage: async () => "pinned",
    unpinImage: async () => undefined,
    history: async (service, limit) =>
      [...(states.get(service) ?? [])]
        .reverse()
        .slice(0, limit)
        .map((h) => ({
          version: h.version,
          modified: new Date(now),
          modifiedBy: "ci",
          text: JSON.stringify({
            versions: h.state.versions.map((v) => v.sha),
            live: h.state.live[0]?.sha,
          }),
        })),
    lock: async () => {
      store();
      return { acquired: true, stillHeld: async () => true, release: async () => undefined };
    },
    lockHolder: async () => undefined,
    up: async () => outputs(),
    outputs: async () => outputs(),
    targetHealth: async () => ({
      healthy: 2,
      unhealthy: 0,
      initial: 0,
      draining: 0,
      other: 0,
      reasons: [],
    }),
    httpGet: async () => ({ status: 200 }),
    runChecks: async () =>
      options.checksPass === false
        ? { ok: false, output: "smoke: GET / expected 200, got 500" }
        : { ok: true, output: "" },
    alarmsInAlarm: async () => [],
  };
  return { backend, states };
}

function seed(s: Stub, service: string, raw: Parameters<typeof parseReleaseState>[0]) {
  s.states.set(service, [{ state: parseReleaseState(raw, service).state!, version: 1 }]);
}

async function run(argv: string[], backend?: ReleaseBackend, projectDir = PROJECT_DIR) {
  const out: string[] = [];
  const err: string[] = [];
  const createBackend = jest.fn<ReleaseBackend, Parameters<CliDeps["createBackend"]>>(() => {
    if (!backend) throw new Error("the backend must not be touched");
    return backend;
  });
  const code = await main(argv, {
    projectDir,
    out: (l) => out.push(l),
    err: (t) => err.push(t),
    env: { USER: "alice" },
    createBackend,
    onInterrupt: () => () => undefined,
  });
  return { code, out, err: err.join("\n"), createBackend };
}

describe("the release command line", () => {
  it("prints usage with every exit code on --help and touches nothing", async () => {
    const { code, out, createBackend } = await run(["--help"]);
    expect(code).toBe(0);
    expect(out.join("\n")).toBe(USAGE);
    for (const exit of [
      "0  done",
      "1  infrastructure error",
      "2  refused",
      "3  verification failed",
    ]) {
      expect(USAGE).toContain(exit);
    }
    expect(createBackend).not.toHaveBeenCalled();
  });

  it.each([
    ["no --stack", ["--service", "api", "--version", SHA], /--stack is required/],
    ["no --service", ["--stack", "dev", "--version", SHA], /--service is required/],
    ["no --version", ["--stack", "dev", "--service", "api"], /--version is required/],
    ["a 6-character SHA", [...RELEASE.slice(0, 5), "3f9c2a"], /not a commit SHA; give 7-40 hex/],
    ["a 41-character SHA", [...RELEASE.slice(0, 5), `${SHA}0`], /not a commit SHA/],
    ["a SHA with a non-hex character", [...RELEASE.slice(0, 5), "3f9c2ag"], /not a commit SHA/],
    ["decreasing canary steps", [...RELEASE, "--canary", "50,10"], /increasing percentages/],
    ["a canary step of 100", [...RELEASE, "--canary", "100"], /increasing percentages/],
    ["a canary that is not numbers", [...RELEASE, "--canary", "ten"], /not a list of numbers/],
    ["a negative bake", [...RELEASE, "--bake", "-5"], /--bake/],
    [
      "keeping more versions than fit",
      [...RELEASE, "--keep", "9"],
      /--keep "9" must be a whole number from 0 to 8/,
    ],
    ["a zero health timeout", [...RELEASE, "--health-timeout", "0"], /--health-timeout/],
    ["an unknown option", [...RELEASE, "--force"], /Unknown option '--force'/],
    ["--stack and --target that disagree", [...RELEASE, "--target", "prod"], /disagree/],
    ["an unknown command", ["deploy", "--stack", "dev"], /unknown command deploy/],
    ["an extra argument", ["rollback", "extra", "--stack", "dev"], /unexpected argument/],
    [
      "release options on rollback",
      ["rollback", "--stack", "dev", "--service", "api", "--version", SHA],
      /--version only apply to release/,
    ],
    [
      "a stack without a stack file",
      ["--stack", "qa", "--service", "api", "--version", SHA],
      /no Pulumi\.qa\.yaml .*known stacks: .*dev/,
    ],
    [
      "an unknown service",
      ["--stack", "dev", "--service", "billing", "--version", SHA],
      /no service "billing"; its services: api, web/,
    ],
  ])("refuses %s with exit 2 before touching the backend", async (_what, argv, message) => {
    // GIVEN / WHEN the command line is run
    const { code, err, createBackend } = await run(argv);

    // THEN it is refused with a message naming the problem, and no backend was created
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(createBackend).not.toHaveBeenCalled();
  });

  it("refuses a release on a stack that pins `cutover:releases`", async () => {
    // GIVEN a stack file pinning api's release state
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cutover-pinned-"));
    fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const dev = fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8");
    fs.writeFileSync(
      path.join(dir, "Pulumi.pinned.yaml"),
      `${dev}\n  cutover:releases:\n    api:\n      versions: [${SHA}]\n      live: ${SHA}\n`,
    );

    // WHEN a release or a rollback is asked for
    const released = await run(
      ["--stack", "pinned", "--service", "api", "--version", NEXT],
      undefined,
      dir,
    );
    const rolled = await run(["rollback", "--stack", "pinned", "--service", "api"], undefined, dir);

    // THEN both are refused, saying how to release instead, without touching the backend
    for (const r of [released, rolled]) {
      expect(r.code).toBe(2);
      expect(r.err).toMatch(
        /Pulumi\.pinned\.yaml pins `cutover:releases`.*remove it from the stack file/s,
      );
      expect(r.createBackend).not.toHaveBeenCalled();
    }
  });

  it("parses the defaults: release command, keep 1, no bake without canary, 300 s with one", () => {
    expect(
      parseCommand(["--target", "dev", "--service", "api", "--version", SHA.toUpperCase()]),
    ).toEqual({
      kind: "release",
      stack: "dev",
      service: "api",
      sha: SHA,
      canary: [],
      bakeMs: 0,
      keep: 1,
      checks: undefined,
      skipSlowChecks: false,
      healthTimeoutMs: 600_000,
    });
    expect(
      parseCommand([
        "release",
        "--stack",
        "dev",
        "--service",
        "api",
        "--version",
        SHA,
        "--canary",
        "10,50",
      ]),
    ).toMatchObject({ canary: [10, 50], bakeMs: 300_000 });
  });
});

describe("the release command's exit codes", () => {
  it("exits 0 and ends with the live line when the release succeeds", async () => {
    // GIVEN api running SHA
    const s = stub();
    seed(s, "api", { versions: [SHA], live: SHA, slots: { [SHA]: 1 } });

    // WHEN NEXT is released (stack given as --target)
    const { code, out } = await run(
      ["--target", "dev", "--service", "api", "--version", NEXT, "--checks", "npm run smoke"],
      s.backend,
    );

    // THEN exit 0, and the last line says NEXT is live at the live host
    expect(code).toBe(0);
    expect(out.at(-1)).toBe("live: api → 9d1e0f4 at https://api.dev.example.com");
  });

  it("exits 3 when verification fails, with the previous version still live", async () => {
    // GIVEN api running SHA and checks that fail
    const s = stub({ checksPass: false });
    seed(s, "api", { versions: [SHA], live: SHA, slots: { [SHA]: 1 } });

    // WHEN NEXT is released
    const { code, out, err } = await run(
      ["--stack", "dev", "--service", "api", "--version", NEXT, "--checks", "npm run smoke"],
      s.backend,
    );

    // THEN exit 3, the reason on stderr, and SHA still live
    expect(code).toBe(3);
    expect(err).toContain("expected 200, got 500");
    expect(out.at(-1)).toBe("live: api → 3f9c2ab at https://api.dev.example.com");
  });

  it("exits 1 when the release state store cannot be reached", async () => {
    const { code, err, out } = await run(
      ["--stack", "dev", "--service", "api", "--version", NEXT],
      stub({ storeDown: true }).backend,
    );
    expect(code).toBe(1);
    expect(err).toContain("ENOTFOUND");
    expect(out.at(-1)).toMatch(/^live: api unknown/);
  });

  it("exits 2 when the version is already live, writing nothing", async () => {
    // GIVEN api running SHA
    const s = stub();
    seed(s, "api", { versions: [SHA], live: SHA });

    // WHEN SHA is released again
    const { code, err } = await run(
      ["--stack", "dev", "--service", "api", "--version", SHA],
      s.backend,
    );

    // THEN exit 2 and the store still has only its first version
    expect(code).toBe(2);
    expect(err).toContain("already live");
    expect(s.states.get("api")).toHaveLength(1);
  });

  it("exits 2 when rollback has no previous version to go back to", async () => {
    const s = stub();
    seed(s, "api", { versions: [SHA], live: SHA });
    const { code } = await run(["rollback", "--stack", "dev", "--service", "api"], s.backend);
    expect(code).toBe(2);
  });

  it("prints each service's versions, live split, lock and history for status", async () => {
    // GIVEN api with a canary in progress and web never released
    const s = stub();
    seed(s, "api", {
      versions: [SHA, NEXT],
      live: { [SHA]: 90, [NEXT]: 10 },
      slots: { [SHA]: 1, [NEXT]: 2 },
    });

    // WHEN the status is asked for
    const { code, out } = await run(["status", "--stack", "dev"], s.backend);

    // THEN both services are shown, with hosts, weights and the history command
    const text = out.join("\n");
    expect(code).toBe(0);
    expect(text).toContain("api: /cutover/dev/releases/api v1");
    expect(text).toContain("live: 3f9c2ab 90% + 9d1e0f4 10% at https://api.dev.example.com");
    expect(text).toContain("9d1e0f4  slot  2  https://api-9d1e0f4.dev.example.com  (live 10%)");
    expect(text).toContain("aws ssm get-parameter-history --name /cutover/dev/releases/api");
    expect(text).toContain("web: /cutover/dev/releases/web (no release yet)");
  });
});
