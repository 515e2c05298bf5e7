import { ConfigError, parseConfig, ParseContext, RawConfig } from "../../config";

/** The problems `parseConfig` refuses `raw` with; empty when it is accepted. */
export function problemsOf(raw: RawConfig, context: ParseContext): string[] {
  try {
    parseConfig(raw, context);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  return [];
}
