import { ESLint } from "eslint";
import * as path from "path";
import * as ts from "typescript";

/**
 * `npm run check`: the type-check and the lint in one pass. Both need the TypeScript program of
 * the whole project (the AWS SDK's declarations alone are close to a million lines), so it is
 * built once: tsc's diagnostics come from it, and ESLint's type-aware rules (Pulumi's
 * no-Output-in-template-literal among them) are handed the same program instead of building
 * their own.
 */

const root = path.resolve(__dirname, "..");

function createProgram(): ts.Program {
  const file = ts.findConfigFile(root, ts.sys.fileExists, "tsconfig.json")!;
  const { config } = ts.readConfigFile(file, ts.sys.readFile);
  // tsconfig.json sets `noCheck` so `pulumi up` only transpiles; this is where checking happens.
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, root, {
    noCheck: false,
    noEmit: true,
  });
  return ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
}

async function main(): Promise<number> {
  const program = createProgram();
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) {
    process.stderr.write(
      ts.formatDiagnosticsWithColorAndContext(diagnostics, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => root,
        getNewLine: () => "\n",
      }),
    );
  }
  const eslint = new ESLint({
    cwd: root,
    overrideConfig: {
      languageOptions: { parserOptions: { projectService: false, programs: [program] } },
    },
  });
  const results = await eslint.lintFiles(["."]);
  const formatter = await eslint.loadFormatter("stylish");
  const text = await formatter.format(results);
  if (text) process.stdout.write(text);
  const lintErrors = results.reduce((n, r) => n + r.errorCount, 0);
  console.log(`type-check: ${diagnostics.length} error(s); lint: ${lintErrors} error(s)`);
  return diagnostics.length + lintErrors > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
