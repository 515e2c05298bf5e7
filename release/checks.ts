import { spawn } from "child_process";
import { CheckResult, HttpResult } from "./orchestrator";

/** The built-in health check and the user's check command, as the release command runs them. */

/** Lines of the check command's output kept for the error message. */
const TAIL_LINES = 40;

/** One GET of `url` without following redirects; never throws. */
export async function httpGet(url: string, timeoutMs = 10_000): Promise<HttpResult> {
  try {
    const response = await fetch(url, {
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
      headers: { "user-agent": "cutover-release" },
    });
    await response.body?.cancel();
    return { status: response.status };
  } catch (error) {
    return { error: describeFetchError(error) };
  }
}

function describeFetchError(error: unknown): string {
  // Duck-typed: fetch's errors may come from another realm, where `instanceof Error` is false.
  const e = (error ?? {}) as {
    name?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  if (e.name === "TimeoutError") return "no answer in time";
  if (typeof e.message !== "string") return String(error);
  // Node's fetch says "fetch failed" and puts the reason (ENOTFOUND, a TLS error...) in `cause`.
  const detail = e.cause?.code ?? e.cause?.message;
  return detail ? `${e.message} (${detail})` : e.message;
}

export interface RunCommandOptions {
  /** Kill the command after this long; it then counts as failed. */
  readonly timeoutMs: number;
  /** Receives the command's output as it comes. */
  readonly onOutput?: (text: string) => void;
}

/**
 * Runs `command` in a shell with `env` added to this process's environment. Passes when it exits
 * with 0 before the timeout; `output` holds the last lines it printed (stdout and stderr).
 */
export function runCommand(
  command: string,
  env: Readonly<Record<string, string>>,
  options: RunCommandOptions,
): Promise<CheckResult> {
  return new Promise((resolve) => {
    let output = "";
    let timedOut = false;
    const child = spawn(command, {
      shell: true,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so a timeout stops everything it started.
      detached: process.platform !== "win32",
    });
    const collect = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      options.onOutput?.(text);
      output = (output + text).slice(-64 * 1024);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const kill = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined && process.platform !== "win32")
          process.kill(-child.pid, signal);
        else child.kill(signal);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill("SIGTERM");
      setTimeout(() => kill("SIGKILL"), 10_000).unref();
    }, options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ ok: false, output: `could not start the check command: ${error.message}` });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const tail = output.trimEnd().split("\n").slice(-TAIL_LINES).join("\n");
      const how = timedOut
        ? `timed out after ${Math.round(options.timeoutMs / 1000)}s`
        : signal
          ? `killed by ${signal}`
          : `exited with ${code}`;
      resolve({ ok: code === 0 && !timedOut, output: tail ? `${tail}\n(${how})` : `(${how})` });
    });
  });
}
