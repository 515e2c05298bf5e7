import { shortSha } from "../components/naming";
import { NO_RELEASE_BODY } from "../components/release";
import type { Verdict } from "../policies/evaluate";
import {
  CostAssumptions,
  CostEstimate,
  estimateCost,
  FargateService,
  fargateServices,
} from "./cost";
import { RecordedResource } from "./mocks";
import { RegionPrices } from "./prices";

/**
 * The offline plan's report: what a stack would create, how its hosts route, what the policy pack
 * says and what it would roughly cost, as data (`buildPlanReport`) and as text, GitHub markdown
 * with a Mermaid diagram, or JSON. Pure functions of what the offline engine recorded.
 */

export interface PlanInput {
  readonly stack: string;
  readonly resources: readonly RecordedResource[];
  /** The program's stack outputs, resolved. */
  readonly outputs: Readonly<Record<string, unknown>>;
  readonly verdicts: readonly Verdict[];
  /** Config as the program saw it (`ns:key` → text); secure values already read `[secret]`. */
  readonly config?: Readonly<Record<string, string>>;
  readonly prices?: Readonly<Record<string, RegionPrices>>;
  readonly assumptions?: CostAssumptions;
}

export interface TreeNode {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** A cutover component (`cutover:*` type). */
  readonly component: boolean;
  readonly children: readonly TreeNode[];
  /** Resources below this node, at any depth. */
  readonly descendants: number;
}

export interface ComponentSummary {
  readonly type: string;
  readonly name: string;
  /** Nesting depth: 0 for a top-level component. */
  readonly depth: number;
  /** Resources below the component, at any depth. */
  readonly resources: number;
}

export interface RouteTarget {
  readonly sha: string;
  /** The short SHA used in host and resource names. */
  readonly version: string;
  readonly weight: number;
}

/** One host of the target's HTTPS listener. */
export interface RouteRow {
  readonly host: string;
  readonly service: string;
  /** `live`: the service's stable host; `version`: the host of one SHA. */
  readonly kind: "live" | "version";
  /** Listener-rule priority, as the program registered it. */
  readonly priority?: number;
  /** Versions the host forwards to, with weights; empty when it answers `fixedResponse`. */
  readonly targets: readonly RouteTarget[];
  /** What a host that forwards nowhere answers, e.g. "503 no release yet". */
  readonly fixedResponse?: string;
  /** Version hosts: the weight of this version on the live host (0 = not live). */
  readonly liveWeight?: number;
  /** Version hosts: the ECS service that runs the version. */
  readonly ecsService?: string;
}

export interface PlanReport {
  readonly stack: string;
  readonly target?: string;
  readonly region: string;
  readonly domain?: string;
  /** Physical name of the target's load balancer, when there is one. */
  readonly loadBalancer?: string;
  readonly config: readonly { readonly key: string; readonly value: string }[];
  readonly resources: {
    readonly total: number;
    readonly components: readonly ComponentSummary[];
    readonly tree: readonly TreeNode[];
  };
  readonly routing: readonly RouteRow[];
  readonly compute: readonly FargateService[];
  readonly policies: {
    readonly mandatory: readonly Verdict[];
    readonly advisory: readonly Verdict[];
  };
  readonly cost: CostEstimate;
  /** 1 when a mandatory policy is violated: the plan fails. */
  readonly exitCode: 0 | 1;
}

const COMPONENT_PREFIX = "cutover:";
const LISTENER_RULE = "aws:lb/listenerRule:ListenerRule";
const LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer";
/** What a live host answers before its first release (when its rule was not recorded). */
const NO_RELEASE = `503 ${NO_RELEASE_BODY}`;

export function buildPlanReport(input: PlanInput): PlanReport {
  const { resources, outputs } = input;
  const region = regionOf(input);
  const mandatory = input.verdicts.filter((v) => v.enforcementLevel === "mandatory");
  const advisory = input.verdicts.filter((v) => v.enforcementLevel !== "mandatory");
  const lb = resources.find((r) => r.type === LOAD_BALANCER);
  const tree = resourceTree(resources);
  return {
    stack: input.stack,
    target: typeof outputs.target === "string" ? outputs.target : undefined,
    region,
    domain: typeof outputs.domain === "string" ? outputs.domain : undefined,
    loadBalancer: typeof lb?.inputs.name === "string" ? lb.inputs.name : undefined,
    config: Object.entries(input.config ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, value]) => ({ key, value })),
    resources: { total: resources.length, components: componentSummaries(tree), tree },
    routing: routingTable(outputs, resources),
    compute: fargateServices(resources),
    policies: { mandatory, advisory },
    cost: estimateCost(resources, region, { prices: input.prices, assumptions: input.assumptions }),
    exitCode: mandatory.length > 0 ? 1 : 0,
  };
}

function regionOf(input: PlanInput): string {
  if (typeof input.outputs.region === "string") return input.outputs.region;
  const provider = input.resources.find((r) => r.type === "pulumi:providers:aws");
  if (typeof provider?.inputs.region === "string") return provider.inputs.region;
  return input.config?.["aws:region"] ?? "";
}

// ---------------------------------------------------------------------------------------------
// Resource tree

/**
 * Resources nested by parent URN. Roots keep registration order; children list plain resources
 * (by type, then name) before nested components. A parent that was not recorded makes a root.
 */
export function resourceTree(resources: readonly RecordedResource[]): TreeNode[] {
  const urns = new Set(resources.map((r) => r.urn));
  const children = new Map<string, RecordedResource[]>();
  const roots: RecordedResource[] = [];
  for (const r of resources) {
    if (r.parent && urns.has(r.parent)) {
      const list = children.get(r.parent) ?? [];
      list.push(r);
      children.set(r.parent, list);
    } else {
      roots.push(r);
    }
  }
  const build = (r: RecordedResource): TreeNode => {
    const kids = (children.get(r.urn) ?? []).map(build).sort(byKindTypeName);
    return {
      urn: r.urn,
      type: r.type,
      name: r.name,
      component: isComponent(r.type),
      children: kids,
      descendants: kids.reduce((n, k) => n + 1 + k.descendants, 0),
    };
  };
  return roots.map(build);
}

function isComponent(type: string): boolean {
  return type.startsWith(COMPONENT_PREFIX);
}

function byKindTypeName(a: TreeNode, b: TreeNode): number {
  if (a.component !== b.component) return a.component ? 1 : -1;
  return a.type.localeCompare(b.type) || a.name.localeCompare(b.name);
}

/** Every cutover component in the tree, depth first, with the resources below it. */
export function componentSummaries(tree: readonly TreeNode[], depth = 0): ComponentSummary[] {
  const out: ComponentSummary[] = [];
  for (const node of tree) {
    if (node.component) {
      out.push({ type: node.type, name: node.name, depth, resources: node.descendants });
    }
    out.push(...componentSummaries(node.children, node.component ? depth + 1 : depth));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Routing

interface ServiceOutput {
  readonly liveHost?: unknown;
  readonly live?: unknown;
  readonly versions?: unknown;
}

/**
 * Every host of the target with what it forwards to, from the stack outputs
 * `services.<name>.{liveHost, live, versions}`; each host's priority and fixed response come from
 * the listener rule the program registered for it.
 */
export function routingTable(
  outputs: Readonly<Record<string, unknown>>,
  resources: readonly RecordedResource[],
): RouteRow[] {
  const rules = rulesByHost(resources);
  const services = (isRecord(outputs.services) ? outputs.services : {}) as Record<
    string,
    ServiceOutput
  >;
  const rows: RouteRow[] = [];
  for (const name of Object.keys(services).sort()) {
    const svc = services[name];
    const live = (Array.isArray(svc.live) ? svc.live : []) as { sha: string; weight: number }[];
    const versions = (isRecord(svc.versions) ? svc.versions : {}) as Record<
      string,
      { host?: string; ecsService?: string }
    >;
    if (typeof svc.liveHost === "string") {
      const rule = rules.get(svc.liveHost);
      rows.push({
        host: svc.liveHost,
        service: name,
        kind: "live",
        priority: rule?.priority,
        targets: live.map((l) => ({ sha: l.sha, version: shortSha(l.sha), weight: l.weight })),
        ...(live.length === 0 ? { fixedResponse: rule?.fixedResponse ?? NO_RELEASE } : {}),
      });
    }
    const versionRows: RouteRow[] = [];
    for (const [sha, v] of Object.entries(versions)) {
      if (typeof v?.host !== "string") continue;
      versionRows.push({
        host: v.host,
        service: name,
        kind: "version",
        priority: rules.get(v.host)?.priority,
        targets: [{ sha, version: shortSha(sha), weight: 100 }],
        liveWeight: live.find((l) => l.sha === sha)?.weight ?? 0,
        ...(typeof v.ecsService === "string" ? { ecsService: v.ecsService } : {}),
      });
    }
    versionRows.sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0));
    rows.push(...versionRows);
  }
  return rows;
}

function rulesByHost(
  resources: readonly RecordedResource[],
): Map<string, { priority?: number; fixedResponse?: string }> {
  const out = new Map<string, { priority?: number; fixedResponse?: string }>();
  for (const rule of resources.filter((r) => r.type === LISTENER_RULE)) {
    const conditions = (rule.inputs.conditions ?? []) as { hostHeader?: { values?: string[] } }[];
    const actions = (rule.inputs.actions ?? []) as {
      type?: string;
      fixedResponse?: { statusCode?: string; messageBody?: string };
    }[];
    const fixed = actions.find((a) => a.type === "fixed-response")?.fixedResponse;
    const priority = typeof rule.inputs.priority === "number" ? rule.inputs.priority : undefined;
    for (const host of conditions.flatMap((c) => c.hostHeader?.values ?? [])) {
      out.set(host, {
        priority,
        ...(fixed
          ? { fixedResponse: [fixed.statusCode, fixed.messageBody].filter(Boolean).join(" ") }
          : {}),
      });
    }
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One line per host and target, as the text and markdown tables show them. */
function routeLines(row: RouteRow): {
  version: string;
  weight: string;
  live: string;
}[] {
  if (row.targets.length === 0) {
    return [{ version: "-", weight: "-", live: row.fixedResponse ?? NO_RELEASE }];
  }
  return row.targets.map((t) => ({
    version: t.version,
    weight: `${t.weight}%`,
    live:
      row.kind === "live"
        ? "live"
        : row.liveWeight && row.liveWeight > 0
          ? `live ${row.liveWeight}%`
          : "not live",
  }));
}

// ---------------------------------------------------------------------------------------------
// Text

const OFFLINE_NOTE =
  "Offline plan: the program ran under the offline engine; nothing was read from or changed in AWS.";

export function renderText(report: PlanReport): string {
  const out: string[] = [];
  out.push(
    [
      "cutover plan",
      `stack ${report.stack}`,
      report.target && `target ${report.target}`,
      report.region,
      report.domain,
    ]
      .filter(Boolean)
      .join(" · "),
  );
  out.push(OFFLINE_NOTE, "");

  const components = report.resources.components.length;
  out.push(`Resources: ${report.resources.total} (${components} components)`);
  out.push(...treeLines(report.resources.tree, ""), "");

  out.push(`Routing: ${report.routing.length} hosts on the HTTPS listener`);
  out.push(
    ...indent(
      textTable(
        ["HOST", "SERVICE", "VERSION", "WEIGHT", "LIVE", "PRIORITY"],
        report.routing.flatMap((row) =>
          routeLines(row).map((l, i) => [
            i === 0 ? row.host : "",
            i === 0 ? row.service : "",
            l.version,
            l.weight,
            l.live,
            i === 0 ? String(row.priority ?? "?") : "",
          ]),
        ),
      ),
    ),
    "",
  );

  out.push(`Policies: ${policySummary(report)}`);
  for (const v of [...report.policies.mandatory, ...report.policies.advisory]) {
    const level = v.enforcementLevel === "mandatory" ? "MANDATORY" : "advisory ";
    out.push(`  ${level}  ${v.policy}: ${v.message}`);
    if (v.type || v.name) out.push(`             on ${[v.type, v.name].filter(Boolean).join(" ")}`);
  }
  out.push("");

  out.push(...costText(report.cost), "");

  out.push("Config (secure values read [secret]):");
  for (const { key, value } of report.config) out.push(`  ${key} = ${value}`);
  if (report.exitCode !== 0) {
    out.push("", `Plan failed: ${report.policies.mandatory.length} mandatory policy violation(s).`);
  }
  return out.join("\n") + "\n";
}

function treeLines(nodes: readonly TreeNode[], prefix: string): string[] {
  const out: string[] = [];
  nodes.forEach((node, i) => {
    const last = i === nodes.length - 1;
    const count = node.component ? `  [${node.descendants}]` : "";
    out.push(`${prefix}${last ? "└─ " : "├─ "}${node.name}  ${node.type}${count}`);
    out.push(...treeLines(node.children, prefix + (last ? "   " : "│  ")));
  });
  return out;
}

function costText(cost: CostEstimate): string[] {
  if (!cost.available) {
    return [`Estimated monthly cost: unavailable for region ${cost.region || "?"}: ${cost.reason}`];
  }
  const out = [
    `Estimated monthly cost (an estimate, not a quote): ${usd(cost.totalMonthlyUsd)} ` +
      `(${cost.currency}, ${cost.region} prices as of ${cost.asOf})`,
  ];
  out.push(
    ...indent(
      textTable(
        ["ITEM", "QUANTITY", "USD/MONTH"],
        cost.lines.map((l) => [l.item, l.quantity, usd(l.monthlyUsd)]),
        [false, false, true],
      ),
    ),
  );
  out.push("  Assumptions:", ...cost.assumptions.map((a) => `    - ${a}`));
  out.push(`  Not included: ${cost.notIncluded.join("; ")}`);
  out.push(`  Prices from: ${cost.sources.join(" ")}`);
  return out;
}

function policySummary(report: PlanReport): string {
  const m = report.policies.mandatory.length;
  const a = report.policies.advisory.length;
  if (m + a === 0) return "no violations";
  return `${m} mandatory violation(s), ${a} advisory warning(s)`;
}

function textTable(headers: string[], rows: string[][], right: boolean[] = []): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

function indent(lines: string[]): string[] {
  return lines.map((l) => `  ${l}`);
}

/** `$1,234.56`. (Not `toLocaleString`: loading its locale data costs more than the report.) */
function usd(amount: number): string {
  const [whole, fraction] = amount.toFixed(2).split(".");
  return `$${whole.replace(/\B(?=(\d{3})+$)/g, ",")}.${fraction}`;
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** GitHub-flavoured markdown for a pull-request comment, with a Mermaid diagram of the routing. */
export function renderMarkdown(report: PlanReport): string {
  const out: string[] = [];
  const where = [report.target && `target ${report.target}`, report.region, report.domain]
    .filter(Boolean)
    .join(" · ");
  out.push(`## cutover plan: \`${mdCode(report.stack)}\`${where ? ` (${md(where)})` : ""}`, "");
  out.push(`> ${OFFLINE_NOTE}`, "");
  const cost = report.cost.available
    ? `≈ ${usd(report.cost.totalMonthlyUsd)} / month (estimate)`
    : "unavailable";
  const verdict =
    report.exitCode === 0
      ? `✅ ${policySummary(report)}`
      : `❌ ${policySummary(report)}: the plan fails`;
  out.push(
    "| Resources | Hosts | Policies | Estimated cost |",
    "|---:|---:|---|---|",
    `| ${report.resources.total} | ${report.routing.length} | ${md(verdict)} | ${md(cost)} |`,
    "",
  );

  out.push("### Routing", "");
  out.push(
    "| Host | Service | Version | Weight | Live | Priority |",
    "|---|---|---|---:|---|---:|",
  );
  for (const row of report.routing) {
    for (const l of routeLines(row)) {
      out.push(
        `| ${md(row.host)} | ${md(row.service)} | ${l.version === "-" ? "-" : `\`${mdCode(l.version)}\``} | ` +
          `${l.weight} | ${md(l.live)} | ${row.priority ?? "?"} |`,
      );
    }
  }
  out.push("", "```mermaid", renderMermaid(report).trimEnd(), "```", "");

  out.push("### Policy verdicts", "");
  if (report.policies.mandatory.length + report.policies.advisory.length === 0) {
    out.push("No policy is violated.", "");
  } else {
    out.push("| Level | Policy | Resource | Message |", "|---|---|---|---|");
    for (const v of [...report.policies.mandatory, ...report.policies.advisory]) {
      const level = v.enforcementLevel === "mandatory" ? "❌ mandatory" : "⚠️ advisory";
      const resource = v.name ? `\`${mdCode(v.name)}\` (${md(v.type ?? "")})` : "stack";
      out.push(`| ${level} | \`${mdCode(v.policy)}\` | ${resource} | ${md(v.message)} |`);
    }
    out.push("");
  }

  out.push("### Estimated monthly cost", "");
  if (!report.cost.available) {
    out.push(
      `Unavailable for region \`${mdCode(report.cost.region || "?")}\`: ${md(report.cost.reason)}.`,
      "",
    );
  } else {
    const c = report.cost;
    out.push(
      `**${usd(c.totalMonthlyUsd)} / month**: an estimate from ${c.currency} on-demand list prices ` +
        `for \`${c.region}\` as of ${c.asOf}, not a quote.`,
      "",
      "| Item | Quantity | USD / month |",
      "|---|---|---:|",
      ...c.lines.map((l) => `| ${md(l.item)} | ${md(l.quantity)} | ${usd(l.monthlyUsd)} |`),
      `| **Total** | | **${usd(c.totalMonthlyUsd)}** |`,
      "",
      "<details><summary>Assumptions and sources</summary>",
      "",
      ...c.assumptions.map((a) => `- ${md(a)}`),
      `- not included: ${md(c.notIncluded.join("; "))}`,
      `- prices: ${c.sources.map((s) => `<${s}>`).join(", ")}`,
      "",
      "</details>",
      "",
    );
  }

  out.push("### Resources", "");
  out.push(
    `<details><summary>${report.resources.total} resources in ${report.resources.components.length} components</summary>`,
    "",
    "| Component | Type | Resources |",
    "|---|---|---:|",
    ...report.resources.components.map(
      (c) =>
        `| ${"&nbsp;&nbsp;".repeat(c.depth)}${md(c.name)} | \`${mdCode(c.type)}\` | ${c.resources} |`,
    ),
    "",
    "```text",
    ...treeLines(report.resources.tree, ""),
    "```",
    "",
    "</details>",
    "",
  );

  out.push("### Config", "");
  out.push(
    "<details><summary>Stack config (secure values read <code>[secret]</code>)</summary>",
    "",
    "| Key | Value |",
    "|---|---|",
    ...report.config.map((c) => `| \`${mdCode(c.key)}\` | \`${mdCode(c.value)}\` |`),
    "",
    "</details>",
    "",
  );
  return out.join("\n");
}

/** Text for a markdown table cell: no pipes or line breaks; HTML-significant characters escaped. */
function md(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\|/g, "\\|")
    .replace(/\r?\n/g, " ");
}

/** Text inside `code` in a table cell: backticks would end the span, pipes the cell. */
function mdCode(text: string): string {
  return text.replace(/`/g, "'").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

// ---------------------------------------------------------------------------------------------
// Mermaid

/**
 * `flowchart LR`: load balancer → hosts → versions → ECS services. Node ids are `[A-Za-z0-9_]`
 * only; every label is quoted with Mermaid's entity codes for characters it would parse.
 */
export function renderMermaid(report: PlanReport): string {
  const ids = new MermaidIds();
  const nodes: string[] = [];
  const edges: string[] = [];
  const compute: string[] = [];
  const live: string[] = [];
  const down: string[] = [];
  const computeByName = new Map(report.compute.map((c) => [c.name, c]));

  const alb = ids.of("alb", "alb");
  nodes.push(`${alb}[${mermaidLabel(`ALB ${report.loadBalancer ?? ""} · HTTPS :443`)}]`);

  const versionNodes = new Map<string, string>();
  const versionNode = (service: string, t: RouteTarget): string => {
    const key = `${service}@${t.sha}`;
    let id = versionNodes.get(key);
    if (!id) {
      id = ids.of(`version:${key}`, `ver_${service}_${t.version}`);
      versionNodes.set(key, id);
      nodes.push(`${id}[${mermaidLabel(`${service} @ ${t.version}`)}]`);
    }
    return id;
  };

  for (const row of report.routing) {
    const host = ids.of(`host:${row.host}`, `host_${row.host}`);
    nodes.push(`${host}[${mermaidLabel(row.host)}]`);
    edges.push(`${alb} --> ${host}`);
    if (row.targets.length === 0) {
      const none = ids.of(`none:${row.host}`, `none_${row.service}`);
      nodes.push(`${none}[${mermaidLabel(row.fixedResponse ?? NO_RELEASE)}]`);
      edges.push(`${host} -.-> ${none}`);
      down.push(none);
      continue;
    }
    for (const t of row.targets) {
      const version = versionNode(row.service, t);
      edges.push(`${host} -->|${mermaidLabel(`${t.weight}%`)}| ${version}`);
      if (row.kind === "live") live.push(version);
    }
    if (row.kind === "version" && row.ecsService) {
      const ecs = ids.of(`ecs:${row.ecsService}`, `ecs_${row.ecsService}`);
      const c = computeByName.get(row.ecsService);
      const size =
        c && c.cpu !== undefined && c.memory !== undefined
          ? ` · ${c.desiredCount} × ${c.cpu / 1024} vCPU / ${c.memory / 1024} GB`
          : "";
      compute.push(`${ecs}[${mermaidLabel(`ECS ${row.ecsService}${size}`)}]`);
      edges.push(`${versionNode(row.service, row.targets[0])} --> ${ecs}`);
    }
  }

  const lines = ["flowchart LR", ...nodes.map((n) => `  ${n}`)];
  if (compute.length > 0) {
    lines.push(
      `  subgraph compute[${mermaidLabel("ECS Fargate")}]`,
      ...compute.map((n) => `    ${n}`),
      "  end",
    );
  }
  lines.push(...edges.map((e) => `  ${e}`));
  lines.push("  classDef live stroke-width:3px;", "  classDef down stroke-dasharray:5 5;");
  if (live.length > 0) lines.push(`  class ${[...new Set(live)].join(",")} live;`);
  if (down.length > 0) lines.push(`  class ${down.join(",")} down;`);
  return lines.join("\n") + "\n";
}

const MERMAID_ENTITIES: Readonly<Record<string, string>> = {
  '"': "#quot;",
  "#": "#35;",
  "[": "#91;",
  "]": "#93;",
  "(": "#40;",
  ")": "#41;",
  "{": "#123;",
  "}": "#125;",
  "<": "#lt;",
  ">": "#gt;",
  "|": "#124;",
  "`": "#96;",
};

/** A quoted Mermaid label: characters Mermaid would parse become entity codes. */
export function mermaidLabel(text: string): string {
  const escaped = text.replace(/[#"[\](){}<>|`]/g, (c) => MERMAID_ENTITIES[c]);
  return `"${escaped.replace(/\s+/g, " ").trim()}"`;
}

/** Stable, unique, safe node ids: `[A-Za-z0-9_]`, starting with a letter. */
class MermaidIds {
  private readonly byKey = new Map<string, string>();
  private readonly used = new Set<string>();

  of(key: string, readable: string): string {
    const known = this.byKey.get(key);
    if (known) return known;
    let base = readable.replace(/[^A-Za-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
    if (!/^[A-Za-z]/.test(base)) base = `n_${base}`;
    let id = base;
    for (let i = 2; this.used.has(id); i++) id = `${base}_${i}`;
    this.used.add(id);
    this.byKey.set(key, id);
    return id;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON

/** One JSON document with every section (and the Mermaid source), for tools. */
export function renderJson(report: PlanReport): string {
  return (
    JSON.stringify(
      { format: "cutover-plan/1", ...report, diagram: renderMermaid(report) },
      null,
      2,
    ) + "\n"
  );
}
