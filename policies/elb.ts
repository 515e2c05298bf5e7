import * as aws from "@pulumi/aws";
import {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
  validateResourceOfType,
} from "@pulumi/policy";
import { asList, dependencyUrns, isRecord, known, knownStrings, ofTypes, targetOf } from "./common";

/** `aws:alb/…` is the legacy alias of `aws:lb/…`: the same AWS resources, so the same rules. */
export const LOAD_BALANCER_TYPES = [
  "aws:lb/loadBalancer:LoadBalancer",
  "aws:alb/loadBalancer:LoadBalancer",
];
export const LISTENER_TYPES = ["aws:lb/listener:Listener", "aws:alb/listener:Listener"];
export const LISTENER_RULE_TYPES = [
  "aws:lb/listenerRule:ListenerRule",
  "aws:alb/listenerRule:ListenerRule",
];

type LoadBalancerProps = {
  loadBalancerType?: string;
  dropInvalidHeaderFields?: boolean;
  accessLogs?: { bucket?: string; enabled?: boolean };
  enableDeletionProtection?: boolean;
};
type ListenerProps = {
  protocol?: string;
  sslPolicy?: string;
  defaultActions?: { type?: string; redirect?: { protocol?: string } }[];
};
type Check<T> = (props: T, args: ResourceValidationArgs, report: ReportViolation) => void;

function onLoadBalancers(check: Check<LoadBalancerProps>) {
  return [
    validateResourceOfType(aws.lb.LoadBalancer, check),
    validateResourceOfType(aws.alb.LoadBalancer, check),
  ];
}
function onListeners(check: Check<ListenerProps>) {
  return [
    validateResourceOfType(aws.lb.Listener, check),
    validateResourceOfType(aws.alb.Listener, check),
  ];
}

/** Provider default: application. */
function isApplication(lb: LoadBalancerProps): boolean {
  return (lb.loadBalancerType ?? "application") === "application";
}

/** The protocol of a listener; the provider default for an ALB listener is HTTP. */
function protocolOf(listener: ListenerProps): string {
  return (listener.protocol ?? "HTTP").toUpperCase();
}

/** Does every action only redirect to HTTPS? (An empty list does nothing useful either.) */
function onlyRedirectsToHttps(actions: unknown): boolean {
  const list = asList(actions);
  return (
    list.length > 0 &&
    list.every(
      (a) =>
        isRecord(a) &&
        a.type === "redirect" &&
        isRecord(a.redirect) &&
        String(a.redirect.protocol ?? "").toUpperCase() === "HTTPS",
    )
  );
}

export const elbPolicies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
  {
    name: "elb-drop-invalid-headers",
    description: "ELB.4 / CKV_AWS_131: application load balancers drop invalid HTTP header fields.",
    severity: "medium",
    validateResource: onLoadBalancers((lb, args, report) => {
      if (!isApplication(lb)) args.notApplicable("only application load balancers parse headers");
      // Provider default: false.
      if (lb.dropInvalidHeaderFields !== true) {
        report("Set `dropInvalidHeaderFields: true` (request smuggling through invalid headers).");
      }
    }),
  },
  {
    name: "elb-access-logs",
    description: "ELB.5 / CKV_AWS_91: application load balancers write access logs to S3.",
    severity: "medium",
    validateResource: onLoadBalancers((lb, args, report) => {
      if (!isApplication(lb)) args.notApplicable("ELB.5 covers application load balancers");
      // Provider default: no access logs; inside the block `enabled` defaults to false.
      if (lb.accessLogs?.enabled !== true || !lb.accessLogs.bucket) {
        report("Set `accessLogs: { bucket, enabled: true }`: requests are not logged.");
      }
    }),
  },
  {
    name: "elb-deletion-protection-prod",
    description: "ELB.6 / CKV_AWS_150: load balancers of the prod target have deletion protection.",
    severity: "medium",
    validateResource: onLoadBalancers((lb, args, report) => {
      const target = targetOf(args);
      if (target !== "prod") args.notApplicable(`target is ${target ?? "unknown"}, not prod`);
      // Provider default: false.
      if (lb.enableDeletionProtection !== true) {
        report("Set `enableDeletionProtection: true`: this is the prod entry point.");
      }
    }),
  },
  {
    name: "elb-http-redirects-to-https",
    description: "ELB.1 / CKV2_AWS_20: HTTP listeners only redirect to HTTPS.",
    severity: "high",
    validateResource: onListeners((listener, args, report) => {
      if (protocolOf(listener) !== "HTTP") args.notApplicable("not an HTTP listener");
      if (!onlyRedirectsToHttps(listener.defaultActions)) {
        report(
          'An HTTP listener\'s default actions must all be `{ type: "redirect", redirect: ' +
            '{ protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }`.',
        );
      }
    }),
  },
  {
    name: "elb-http-listener-no-rules",
    description:
      "ELB.1 / CKV2_AWS_20: no listener rule serves traffic on an HTTP listener (only HTTPS redirects).",
    severity: "high",
    validateStack: (args, report) => {
      const http = ofTypes(args.resources, LISTENER_TYPES).filter(
        (l) => String(known(() => l.props.protocol) ?? "HTTP").toUpperCase() === "HTTP",
      );
      const rules = ofTypes(args.resources, LISTENER_RULE_TYPES);
      if (http.length === 0 || rules.length === 0) {
        args.notApplicable("no listener rule on an HTTP listener");
      }
      for (const rule of rules) {
        const on = listenerOf(rule, http);
        if (on && !onlyRedirectsToHttps(known(() => rule.props.actions))) {
          report(
            `Listener rule ${rule.name} is on HTTP listener ${on.name}: it serves plain HTTP. ` +
              "Attach it to the HTTPS listener, or make it redirect to HTTPS.",
            rule.urn,
          );
        }
      }
    },
  },
  {
    name: "elb-https-tls13",
    description:
      "ELB.17 / CKV_AWS_103: HTTPS and TLS listeners use a TLS 1.3 security policy (name contains TLS13).",
    severity: "high",
    validateResource: onListeners((listener, args, report) => {
      const protocol = protocolOf(listener);
      if (protocol !== "HTTPS" && protocol !== "TLS") args.notApplicable("no TLS on this listener");
      // Provider default: ELBSecurityPolicy-2016-08 (TLS 1.0).
      const policy = listener.sslPolicy ?? "ELBSecurityPolicy-2016-08";
      if (!policy.includes("TLS13")) {
        report(
          `\`sslPolicy\` is ${policy}; use a TLS 1.3 policy such as ELBSecurityPolicy-TLS13-1-2-2021-06.`,
        );
      }
    }),
  },
];

/**
 * The HTTP listener a rule is attached to. Matched by the listener's ARN when it is known, else by
 * the rule's property dependency on `listenerArn` (the way that works in a first preview).
 */
function listenerOf(rule: PolicyResource, listeners: PolicyResource[]): PolicyResource | undefined {
  const arns = knownStrings(() => rule.props.listenerArn);
  const deps = dependencyUrns(rule, "listenerArn");
  return listeners.find(
    (l) => deps.has(l.urn) || knownStrings(() => l.props.arn).some((arn) => arns.includes(arn)),
  );
}
