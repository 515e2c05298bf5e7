import { digest } from "../components/naming";

/**
 * `cutover:services` and `cutover:releases` for `count` services with `versions` deployed
 * versions each (the first live). Rule blocks are explicit so that no two services collide.
 */
export function syntheticServices(count: number, versions: number): Record<string, unknown> {
  const services: Record<string, unknown> = {};
  const releases: Record<string, unknown> = {};
  for (let i = 1; i <= count; i++) {
    const name = `svc-${String(i).padStart(2, "0")}`;
    services[name] = {
      port: 8080,
      healthCheckPath: "/health",
      cpu: 256,
      memory: 512,
      desiredCount: 2,
      ruleBlock: i,
    };
    const shas = Array.from({ length: versions }, (_, v) => digest(`${name}@${v}`, 40));
    releases[name] = { versions: shas, live: shas[0] };
  }
  return { "cutover:services": services, "cutover:releases": releases };
}
