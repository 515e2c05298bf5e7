import * as fs from "fs";
import Module from "module";
import * as path from "path";

/**
 * Start-up tuning for the offline plan, imported first by scripts/plan.ts (and scripts/bench.ts).
 * Loading the Pulumi SDK, the AWS provider and awsx is most of a plan's time; these changes bring
 * it from about 2,000 dependency files under tsx's hooks down to about 1,100 compiled as plain
 * `node` compiles them:
 *
 * 1. Under tsx (`npm run plan`), CommonJS files in node_modules are compiled the way Node compiles
 *    them without tsx: read and compile. tsx would otherwise scan each file for ES module syntax,
 *    and it turns source maps on, which makes Node read and parse the source map of every
 *    dependency file. Project TypeScript and ES-module dependencies still go through tsx, with
 *    source maps, so stack traces of project code stay mapped.
 * 2. Modules the SDKs require at start-up but only use in functions the plan never calls (the
 *    TypeScript compiler and npm's dependency-tree reader for closure serialization, the ECS API
 *    client of awsx classic) load on first use instead: if something does use them, they load
 *    then, transparently.
 *
 * `CUTOVER_PLAIN_LOADER=1` turns both off (to compare timings, or to rule them out).
 */

interface LoadableModule {
  _compile(content: string, filename: string): void;
}
type Loader = (this: unknown, module: LoadableModule, filename: string) => void;
const loaders = (Module as unknown as { _extensions: Record<string, Loader> })._extensions;

const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

/** Turns source maps back on for everything (before printing an unexpected error's stack). */
export function restoreSourceMaps(): void {
  setSourceMaps(true);
}

function compileDependenciesNatively(): void {
  const viaTsx = { js: loaders[".js"], ts: loaders[".ts"] };
  setSourceMaps(false);
  loaders[".js"] = function (this: unknown, module, filename) {
    // tsx marks namespaced imports with a query; those stay with tsx.
    if (filename.includes(NODE_MODULES) && !filename.includes("?") && isCommonJs(filename)) {
      // Compiling runs the module, which may require project files: each sets its own mode.
      withSourceMaps(false, () => module._compile(fs.readFileSync(filename, "utf8"), filename));
    } else {
      withSourceMaps(true, () => viaTsx.js.call(this, module, filename));
    }
  };
  loaders[".ts"] = function (this: unknown, module, filename) {
    withSourceMaps(true, () => viaTsx.ts.call(this, module, filename));
  };
}

let sourceMaps = true;

function setSourceMaps(on: boolean): boolean {
  const before = sourceMaps;
  if (on !== before) process.setSourceMapsEnabled(on);
  sourceMaps = on;
  return before;
}

function withSourceMaps(on: boolean, load: () => void): void {
  const before = setSourceMaps(on);
  try {
    load();
  } finally {
    setSourceMaps(before);
  }
}

const packageTypes = new Map<string, boolean>();

/** Is `file` CommonJS by its nearest package.json (no `"type": "module"`), as Node decides it? */
function isCommonJs(file: string): boolean {
  const visited: string[] = [];
  let dir = path.dirname(file);
  let commonJs = true;
  for (;;) {
    const known = packageTypes.get(dir);
    if (known !== undefined) {
      commonJs = known;
      break;
    }
    visited.push(dir);
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest)) {
      try {
        commonJs =
          (JSON.parse(fs.readFileSync(manifest, "utf8")) as { type?: string }).type !== "module";
      } catch {
        commonJs = false; // let tsx (and Node) report it
      }
      break;
    }
    const up = path.dirname(dir);
    if (up === dir || path.basename(dir) === "node_modules") break;
    dir = up;
  }
  for (const d of visited) packageTypes.set(d, commonJs);
  return commonJs;
}

/**
 * Modules the SDKs require at start-up but use only inside functions the plan never calls.
 * @pulumi/pulumi's are for closure serialization (turning a JavaScript function into a deployable
 * package); with them the SDK's load time roughly doubles. `esModule` is what the stand-in answers
 * for `__esModule` without loading: how the SDK's compiled code imports the module
 * (`__importStar` or `__importDefault`) reads it first.
 */
const DEFERRED: readonly {
  from: string;
  request: string;
  callable: boolean;
  esModule?: boolean;
}[] = [
  // runtime/closure/* through typescript-shim: `ts.<api>` inside functions only.
  { from: "@pulumi/pulumi", request: "typescript", callable: false },
  // runtime/closure/codePaths: `__importStar(...)`, then `new arborist.Arborist(...)`.
  { from: "@pulumi/pulumi", request: "@npmcli/arborist", callable: true, esModule: true },
  // runtime/closure/codePaths: `__importDefault(...)`, then called.
  { from: "@pulumi/pulumi", request: "normalize-package-data", callable: true },
  // classic/ecs/taskDefinition: `__importStar(...)`, then `new ecssdk.ECS()` to run a task.
  { from: "@pulumi/awsx", request: "@aws-sdk/client-ecs", callable: false, esModule: true },
];

/**
 * Puts a stand-in for each `DEFERRED` module in the require cache that loads the real module on
 * first use (property access, call, `new`) and forwards to it from then on. Keyed by the module's
 * resolution from the SDK that requires it, so only that copy is deferred.
 */
function deferUnusedModules(): void {
  for (const { from, request, callable, esModule } of DEFERRED) {
    let requireFrom: NodeJS.Require;
    let resolved: string;
    try {
      requireFrom = Module.createRequire(require.resolve(from));
      resolved = requireFrom.resolve(request);
    } catch {
      continue; // not installed: nothing to defer
    }
    if (require.cache[resolved]) continue;
    const stand = new Module(resolved);
    stand.filename = resolved;
    stand.loaded = true;
    stand.exports = lazyExports(callable, esModule, () => {
      delete require.cache[resolved];
      return requireFrom(resolved) as object;
    });
    require.cache[resolved] = stand;
  }
}

/** A proxy that loads the real exports on first use; its target mirrors them (proxy invariants). */
function lazyExports(callable: boolean, esModule: boolean | undefined, load: () => object): object {
  // A function target so that callable exports can be called and constructed.
  const target: object = callable ? function deferred() {} : {};
  let real: object | undefined;
  const loaded = (): object => {
    if (!real) {
      real = load();
      for (const [key, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(real))) {
        try {
          Object.defineProperty(target, key, descriptor);
        } catch {
          // a non-configurable property of the function target (e.g. `prototype`) stays
        }
      }
    }
    return real;
  };
  return new Proxy(target, {
    get: (_t, key) => (key === "__esModule" && !real ? esModule : Reflect.get(loaded(), key)),
    set: (_t, key, value) => Reflect.set(loaded(), key, value),
    has: (_t, key) => Reflect.has(loaded(), key),
    ownKeys: () => (loaded(), Reflect.ownKeys(target)),
    getOwnPropertyDescriptor: (_t, key) => (
      loaded(),
      Reflect.getOwnPropertyDescriptor(target, key)
    ),
    getPrototypeOf: () => Reflect.getPrototypeOf(loaded()),
    apply: (_t, thisArg, args: unknown[]) =>
      Reflect.apply(loaded() as (...a: unknown[]) => unknown, thisArg, args),
    construct: (_t, args: unknown[]) =>
      Reflect.construct(loaded() as new (...a: unknown[]) => object, args),
  });
}

if (process.env.CUTOVER_PLAIN_LOADER !== "1") {
  deferUnusedModules();
  // tsx registers a `.ts` loader; without one there is nothing to bypass.
  if (loaders[".ts"]) compileDependenciesNatively();
}
