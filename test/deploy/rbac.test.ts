import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELEASE } from '../../cli/pipeline.js';
import { runScenario } from '../../cli/run-scenario.js';
import { Sandbox } from '../../sandbox/sandbox.js';
import type { FunctionName } from '../../shared/contracts/index.js';
import { createKubeClients, statusOf, type KubeClients } from '../../shared/kube/index.js';
import { CHART, helm } from '../support/helm.js';
import { kubectl, kubectlAvailable } from '../support/kubectl.js';
import { scenario } from '../support/pipeline.js';

/** `kubectl apply` of the chart's CRDs and RBAC, as rendered by `helm template`. */
async function applyChart(sandbox: Sandbox): Promise<void> {
  const kc = sandbox.kubeconfigPath;
  // (kubectl create sends protobuf, which the sandbox does not speak: apply the Namespace instead.)
  const ns = await kubectl(
    kc,
    ['apply', '-f', '-'],
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${RELEASE.namespace}\n`,
  );
  expect(ns.code, ns.stderr).toBe(0);
  const crds = await kubectl(kc, ['apply', '-f', join(CHART, 'crds')]);
  expect(crds.code, crds.stderr).toBe(0);
  const rendered = await helm([
    'template',
    RELEASE.name,
    CHART,
    '--namespace',
    RELEASE.namespace,
    '--show-only',
    'templates/rbac.yaml',
  ]);
  expect(rendered.code, rendered.stderr).toBe(0);
  const rbac = await kubectl(kc, ['apply', '-f', '-'], rendered.stdout);
  expect(rbac.code, rbac.stderr).toBe(0);
  expect(rbac.stdout).toMatch(/clusterrole.rbac.authorization.k8s.io\/kurative-act created/);
}

const asFunction = (sandbox: Sandbox, fn: FunctionName): KubeClients => {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(sandbox.api.kubeconfigFor(RELEASE.namespace, `${RELEASE.name}-${fn}`));
  return createKubeClients(kc);
};

const codeOf = async (call: () => Promise<unknown>): Promise<number> => {
  try {
    await call();
    return 200;
  } catch (error) {
    return statusOf(error) ?? 0;
  }
};

describe.runIf(kubectlAvailable)('least-privilege RBAC from the chart, enforced by the sandbox', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await Sandbox.start({
      scenario: scenario('memory-leak'),
      dir: mkdtempSync(join(tmpdir(), 'k-rbac-')),
    });
    for (let i = 0; i < 6; i++) sandbox.step();
    await applyChart(sandbox);
  });
  afterAll(async () => sandbox.close());

  const pod = async () =>
    (await asFunction(sandbox, 'act').core.listNamespacedPod({ namespace: 'shop' })).items[0]?.metadata
      ?.name ?? '';
  const evict = (kube: KubeClients, name: string) =>
    kube.core.createNamespacedPodEviction({
      namespace: 'shop',
      name,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'shop' } },
      dryRun: 'All',
    });
  const scale = (kube: KubeClients) =>
    kube.apps.patchNamespacedDeploymentScale(
      { namespace: 'shop', name: 'cart', body: { spec: { replicas: 3 } }, dryRun: 'All' },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );

  it.each<[FunctionName, string, (k: KubeClients) => Promise<unknown>]>([
    ['scrape', 'lists pods', (k) => k.core.listPodForAllNamespaces()],
    [
      'scrape',
      'lists Incidents (whether act needs a tick)',
      (k) =>
        k.custom.listClusterCustomObject({ group: 'kurative.dev', version: 'v1alpha1', plural: 'incidents' }),
    ],
    [
      'score',
      'lists Detectors',
      (k) =>
        k.custom.listClusterCustomObject({ group: 'kurative.dev', version: 'v1alpha1', plural: 'detectors' }),
    ],
    ['rca', 'lists Deployments', (k) => k.apps.listDeploymentForAllNamespaces()],
    ['rca', "lists pods' metrics (CPU at the limit)", (k) => k.metrics.getPodMetrics()],
    [
      'policy',
      'lists RemediationPolicies',
      (k) =>
        k.custom.listClusterCustomObject({
          group: 'kurative.dev',
          version: 'v1alpha1',
          plural: 'remediationpolicies',
        }),
    ],
    ['act', 'scales a Deployment', scale],
  ])('%s %s', async (fn, _what, call) => {
    expect(await codeOf(() => call(asFunction(sandbox, fn)))).toBe(200);
  });

  const createIncident = (k: KubeClients) =>
    k.custom.createClusterCustomObject({
      group: 'kurative.dev',
      version: 'v1alpha1',
      plural: 'incidents',
      body: { apiVersion: 'kurative.dev/v1alpha1', kind: 'Incident', metadata: { name: 'x' }, spec: {} },
    });

  it.each<[FunctionName, string, (k: KubeClients, pod: string) => Promise<unknown>]>([
    ['scrape', 'evict a pod', (k, p) => evict(k, p)],
    ['scrape', 'read Secrets', (k) => k.core.listSecretForAllNamespaces()],
    ['scrape', 'create an Incident', (k) => createIncident(k)],
    ['score', 'scale a Deployment', (k) => scale(k)],
    ['score', 'create an Incident', (k) => createIncident(k)],
    ['score', "list pods' metrics", (k) => k.metrics.getPodMetrics()],
    ['rca', 'evict a pod', (k, p) => evict(k, p)],
    ['rca', 'read Secrets', (k) => k.core.listSecretForAllNamespaces()],
    [
      'policy',
      'cordon a node',
      (k) =>
        k.core.patchNode(
          { name: 'node-1', body: { spec: { unschedulable: true } }, dryRun: 'All' },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        ),
    ],
    ['policy', 'scale a Deployment', (k) => scale(k)],
    // act may delete pods (a StatefulSet's forced rollback), but not the nodes they run on.
    ['act', 'delete a node', (k) => k.core.deleteNode({ name: 'node-1', dryRun: 'All' })],
    [
      'act',
      'delete a Deployment',
      (k) => k.apps.deleteNamespacedDeployment({ namespace: 'shop', name: 'cart', dryRun: 'All' }),
    ],
    ['act', 'read Secrets', (k) => k.core.listSecretForAllNamespaces()],
    [
      'act',
      'write a RemediationPolicy',
      (k) =>
        k.custom.createClusterCustomObject({
          group: 'kurative.dev',
          version: 'v1alpha1',
          plural: 'remediationpolicies',
          body: {
            apiVersion: 'kurative.dev/v1alpha1',
            kind: 'RemediationPolicy',
            metadata: { name: 'x' },
            spec: {},
          },
        }),
    ],
  ])('%s gets 403 when it tries to %s', async (fn, _what, call) => {
    const name = await pod();
    expect(await codeOf(() => call(asFunction(sandbox, fn), name))).toBe(403);
  });
});

describe.runIf(kubectlAvailable)(
  'end to end with the chart applied by kubectl and one service account per function',
  () => {
    it('detects, diagnoses, decides, acts and verifies the memory leak with no request refused', async () => {
      const { run } = await runScenario(scenario('memory-leak'), {
        mode: 'enforce',
        dir: mkdtempSync(join(tmpdir(), 'k-rbac-e2e-')),
        inProcess: true,
        install: applyChart,
      });
      const users = new Set(run.audit.map((a) => a.user));
      for (const fn of ['rca', 'policy', 'act'])
        expect(users).toContain(`system:serviceaccount:${RELEASE.namespace}:${RELEASE.name}-${fn}`);
      expect(run.audit.filter((a) => a.code === 403)).toEqual([]);
      expect(run.remediations.map((r) => r.status)).toEqual(['succeeded', 'verified']);
      expect(run.outcome.oomKills).toBe(0);
    }, 300_000);
  },
);
