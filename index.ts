import * as pulumi from "@pulumi/pulumi";
import { Certificate } from "./components/certificate";
import { EcsCluster } from "./components/ecs-cluster";
import { Edge, loadBalancerName } from "./components/edge";
import { releaseParameterPath } from "./components/naming";
import { Network } from "./components/network";
import { Notifications } from "./components/notifications";
import { Registry } from "./components/registry";
import { readReleaseStore } from "./components/release";
import { planRoutes } from "./components/routing";
import { Service } from "./components/service";
import { targetProvider } from "./components/tags";
import { ConfigError, loadConfig, subnetPlan } from "./config";

/**
 * Composition root: config → components → stack outputs. One stack = one target
 * (dev, stage or prod) with its whole platform and the deployed versions of its services.
 */
export = async () => {
  const cfg = loadConfig();
  const provider = targetProvider("aws", cfg);
  const opts: pulumi.ComponentResourceOptions = { providers: { aws: provider } };

  // Which versions exist decides how many resources exist, so it is settled before any is made.
  const releasePath = releaseParameterPath(cfg.project, cfg.target);
  let releases = cfg.releases;
  if (releases === undefined) {
    const store = await readReleaseStore(
      { path: releasePath, services: cfg.services.map((s) => s.name) },
      { provider },
    );
    const routing = planRoutes(cfg.services, store.states, cfg.domain);
    if (store.errors.length + routing.errors.length > 0)
      throw new ConfigError([...store.errors, ...routing.errors]);
    releases = store.states;
  }

  const masks = subnetPlan(cfg.network.cidr, cfg.network.availabilityZones);
  const network = new Network(
    "network",
    {
      cidr: cfg.network.cidr,
      availabilityZones: cfg.network.availabilityZones,
      subnetMasks: { az: masks.azMask, private: masks.privateMask, public: masks.publicMask },
      nat: cfg.network.nat,
      flowLogRetentionDays: cfg.logRetentionDays,
    },
    opts,
  );

  const registry = new Registry(
    "registry",
    {
      project: cfg.project,
      target: cfg.target,
      services: cfg.services.map((s) => s.name),
      keepImages: cfg.keepImages,
      forceDelete: !cfg.deletionProtection,
    },
    opts,
  );

  const certificate = new Certificate(
    "certificate",
    { hostedZone: cfg.hostedZone, domain: cfg.domain },
    opts,
  );

  const edge = new Edge(
    "edge",
    {
      loadBalancerName: loadBalancerName(cfg.project, cfg.target),
      vpcId: network.vpcId,
      vpcCidr: cfg.network.cidr,
      publicSubnetIds: network.publicSubnetIds,
      certificateArn: certificate.certificateArn,
      zoneId: certificate.zoneId,
      domain: cfg.domain,
      deletionProtection: cfg.deletionProtection,
      accessLogRetentionDays: cfg.accessLogRetentionDays,
      forceDestroyLogs: !cfg.deletionProtection,
    },
    opts,
  );

  const ecs = new EcsCluster(
    "ecs",
    {
      project: cfg.project,
      target: cfg.target,
      vpcId: network.vpcId,
      loadBalancerSecurityGroupId: edge.securityGroup.id,
      ports: cfg.services.map((s) => s.port),
    },
    opts,
  );

  const notifications = new Notifications(
    "notifications",
    { emails: cfg.notifications.emails },
    opts,
  );

  const services: Record<string, Service> = {};
  for (const service of cfg.services) {
    services[service.name] = new Service(
      `svc-${service.name}`,
      {
        project: cfg.project,
        target: cfg.target,
        region: cfg.region,
        domain: cfg.domain,
        service,
        release: releases[service.name] ?? { versions: [], live: [] },
        logRetentionDays: cfg.logRetentionDays,
        repositoryUrl: registry.repositories[service.name].repositoryUrl,
        listenerArn: edge.listener.arn,
        loadBalancerArnSuffix: edge.loadBalancer.arnSuffix,
        clusterArn: ecs.cluster.arn,
        vpcId: network.vpcId,
        privateSubnetIds: network.privateSubnetIds,
        taskSecurityGroupId: ecs.taskSecurityGroup.id,
        executionRoleArn: ecs.executionRole.arn,
        alarmTopicArn: notifications.topic.arn,
      },
      opts,
    );
  }

  // GOVERNANCE: GitHub repository governance and CI identities are composed here.

  return {
    target: cfg.target,
    domain: cfg.domain,
    region: cfg.region,
    vpcId: network.vpcId,
    albDnsName: edge.dnsName,
    clusterName: ecs.cluster.name,
    alarmTopicArn: notifications.topic.arn,
    repositoryUrls: registry.repositoryUrls,
    releaseParameterPath: releasePath,
    services: Object.fromEntries(
      Object.entries(services).map(([name, s]) => [
        name,
        {
          liveHost: s.liveHost,
          live: (releases[name] ?? { live: [] }).live,
          versions: s.versions,
        },
      ]),
    ),
  };
};
