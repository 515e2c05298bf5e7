import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { Certificate } from "./components/certificate";
import { EcsCluster } from "./components/ecs-cluster";
import { Edge, loadBalancerName } from "./components/edge";
import { GithubGovernance } from "./components/github";
import { Identities } from "./components/identities";
import { accessLogBucketPrefix, releaseParameterPath, roleName } from "./components/naming";
import { Network } from "./components/network";
import { Notifications } from "./components/notifications";
import { Registry } from "./components/registry";
import { readReleaseStore } from "./components/release";
import { planRoutes } from "./components/routing";
import { Service } from "./components/service";
import { baseTags, targetProvider } from "./components/tags";
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

  const masks = subnetPlan(cfg.network.cidr);
  const network = new Network(
    "network",
    {
      cidr: cfg.network.cidr,
      availabilityZones: cfg.network.availabilityZones,
      subnetMasks: { az: masks.azMask, private: masks.privateMask, public: masks.publicMask },
      nat: cfg.network.nat,
      flowLogRetentionDays: cfg.logRetentionDays,
      flowLogRoleName: roleName(cfg.project, cfg.target, "flow-logs"),
      protectFlowLogRole: cfg.github !== undefined,
      tags: baseTags(cfg),
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
      accessLogBucketPrefix: accessLogBucketPrefix(cfg.project, cfg.target),
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

  // GitHub governance and CI identities, for a stack that names its repository. Protected:
  // `pulumi destroy --exclude-protected` (the teardown workflow) keeps what CI needs to deploy
  // the target again.
  let ci: Record<string, pulumi.Output<string>> | undefined;
  if (cfg.github) {
    const gh = cfg.github;
    const ciOpts = { ...opts, protect: true };
    const identities = new Identities(
      "identities",
      {
        project: cfg.project,
        target: cfg.target,
        region: cfg.region,
        subjectPrefix: gh.oidcSubjectPrefix,
        oidcProvider: gh.oidcProvider,
        releaseParameterPath: releasePath,
        hostedZoneId: certificate.zoneId,
        domain: cfg.domain,
        services: cfg.services.map((s) => s.name),
        accessLogBucketPrefix: accessLogBucketPrefix(cfg.project, cfg.target),
      },
      ciOpts,
    );
    const githubProvider = new github.Provider("github", {
      owner: gh.owner,
      token: cfg.githubToken,
    });
    new GithubGovernance(
      "github",
      {
        repository: gh.repository,
        target: cfg.target,
        manageBranchProtection: gh.manageBranchProtection,
        requiredChecks: gh.requiredChecks,
        reviewers: cfg.target === "prod" ? gh.prodReviewers : undefined,
        workflowValues: {
          awsRegion: cfg.region,
          previewRoleArn: identities.previewRole.arn,
          deployRoleArn: identities.deployRole.arn,
          pushRoleArn: identities.pushRole.arn,
          ecrRegistry: identities.registry,
          repositoryUrls: identities.repositoryUrls,
          domain: cfg.domain,
          pulumiStack: cfg.stack,
        },
        secrets: cfg.secrets,
      },
      { ...ciOpts, providers: { aws: provider, github: githubProvider } },
    );
    ci = {
      previewRoleArn: identities.previewRole.arn,
      deployRoleArn: identities.deployRole.arn,
      pushRoleArn: identities.pushRole.arn,
      oidcProviderArn: identities.oidcProviderArn,
    };
  }

  return {
    ci,
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
