import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { limitsByEntity, definition as scrape, type ScrapeDeps } from '../../../functions/scrape/index.js';
import {
  buildSamples,
  entityFromLabels,
  nodeView,
  podView,
  type PodView,
} from '../../../functions/scrape/samples.js';
import { SandboxPrometheus } from '../../../sandbox/prometheus.js';
import type { Fetch } from '../../../shared/prometheus/index.js';
import type { Sandbox } from '../../../sandbox/sandbox.js';
import { EVENT_TYPES, type MetricsData, type TickData } from '../../../shared/contracts/index.js';
import type { KubeClients } from '../../../shared/kube/index.js';
import { createIncident, INCIDENTS } from '../../support/incidents.js';
import { silentLog, testConfig } from '../../support/runtime.js';
import * as k8s from '@kubernetes/client-node';
import { parseQuantity } from '../../../shared/quantity/index.js';
import { recordingJsonPages, startWithKurative, type PageRequest } from '../../support/sandbox.js';

let sandbox: Sandbox;
let kube: KubeClients;

/** A sandbox of the scenario with kurative installed, `steps` simulator steps in. */
async function start(name: string, steps: number): Promise<void> {
  ({ sandbox, kube } = await startWithKurative(name, steps));
}

beforeEach(() => start('memory-leak', 12));
afterEach(async () => sandbox.close());

type Emitted = { type: string; data: unknown }[];
const at = () => new Date(sandbox.simulator.clock.epochMs).toISOString();
const tick = (
  clients: KubeClients = kube,
  config = testConfig(),
  fetch?: Fetch,
  lists: Pick<ScrapeDeps, 'listPageSize' | 'listPages'> = {},
) =>
  scrape.handle(
    {
      id: 'p1',
      source: '/ping',
      type: EVENT_TYPES.ping,
      subject: undefined,
      time: at(),
      incidentId: undefined,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      data: {},
      extensions: {},
    },
    {
      deps: { kube: clients, ...(fetch ? { fetch } : {}), ...lists },
      log: silentLog,
      config,
    },
  ) as Promise<Emitted>;
const ticks = (events: Emitted) =>
  events.filter((e) => e.type === EVENT_TYPES.tick).map((e) => e.data as TickData);

describe('scrape with Prometheus: the limit query of a Detector', () => {
  it('gives each storage series the limit of the container it names, and none where it has none', async () => {
    await sandbox.close();
    await start('disk-fill', 12);
    const prometheus = new SandboxPrometheus(sandbox.simulator);
    const url = await prometheus.listen();
    try {
      const events = await tick(kube, testConfig({ KURATIVE_PROMETHEUS_URL: url }));
      const storage = events
        .filter((e) => e.type === EVENT_TYPES.metrics)
        .flatMap((e) => (e.data as MetricsData).samples)
        .filter((x) => x.signal === 'container_fs_usage_bytes');
      const cart = storage.filter((x) => x.entity.name.startsWith('cart-'));
      const others = storage.filter((x) => !x.entity.name.startsWith('cart-'));
      expect(cart.length).toBe(3);
      for (const x of cart) {
        expect(x.entity).toMatchObject({ kind: 'Pod', namespace: 'shop', container: 'app' });
        expect(x.limit).toBe(2 ** 30);
      }
      expect(others.length).toBeGreaterThan(0);
      for (const x of others) expect(x.limit).toBeUndefined();
    } finally {
      await prometheus.close();
    }
  });

  it('runs a query two Detectors share once, and sends each of its series once with the limit', async () => {
    await sandbox.close();
    await start('disk-fill', 1);
    const prometheus = new SandboxPrometheus(sandbox.simulator);
    const url = await prometheus.listen();
    const asked: string[] = [];
    const counting: Fetch = (input, init) => {
      asked.push(new URL(input).searchParams.get('query') ?? '');
      return fetch(input, init);
    };
    try {
      const detectors = sandbox.simulator.cluster.store.list('kurative.dev/detectors') as unknown as {
        spec: { signal: { promql?: string; limitPromql?: string } };
      }[];
      // The storage Detectors: a forecast against the limit and a deviation, on one query.
      const fs = detectors.filter((d) => d.spec.signal.promql?.includes('container_fs_usage_bytes'));
      expect(fs.length).toBe(2);
      expect(fs.filter((d) => d.spec.signal.limitPromql).length).toBe(1);
      const config = testConfig({ KURATIVE_PROMETHEUS_URL: url, KURATIVE_BACKFILL: '0s' });
      const events = await tick(kube, config, counting);
      expect(asked.filter((q) => q === fs[0]?.spec.signal.promql).length).toBe(1);
      const cart = events
        .filter((e) => e.type === EVENT_TYPES.metrics)
        .flatMap((e) => (e.data as MetricsData).samples)
        .filter((x) => x.signal === 'container_fs_usage_bytes' && x.entity.name.startsWith('cart-'));
      expect(cart.length).toBe(3);
      expect(new Set(cart.map((x) => x.entity.name)).size).toBe(3);
      for (const x of cart) expect(x.limit).toBe(2 ** 30);
    } finally {
      await prometheus.close();
    }
  });

  it('warms a new PromQL Detector with its history once, then sends current values', async () => {
    const prometheus = new SandboxPrometheus(sandbox.simulator);
    const url = await prometheus.listen();
    sandbox.onTick(() => prometheus.record());
    try {
      for (let i = 0; i < 60; i++) sandbox.step(); // ten simulated minutes of history
      const errorRatios = (events: Emitted) =>
        events
          .filter((e) => e.type === EVENT_TYPES.metrics)
          .flatMap((e) => (e.data as MetricsData).samples)
          .filter((x) => x.signal === 'http_error_ratio');
      const config = testConfig({ KURATIVE_PROMETHEUS_URL: url });
      const first = errorRatios(await tick(kube, config));
      const services = new Set(first.map((x) => x.entity.name));
      expect(services.size).toBeGreaterThan(1);
      // Each service's history: one sample a minute, in time order, ending now.
      for (const name of services) {
        const times = first.filter((x) => x.entity.name === name).map((x) => Date.parse(x.at));
        expect(times.length).toBeGreaterThanOrEqual(10);
        expect(times.slice(1).every((t, i) => t - (times[i] ?? 0) === 60_000)).toBe(true);
        expect(times.at(-1)).toBe(sandbox.simulator.clock.epochMs);
      }
      const detector = sandbox.simulator.cluster.store
        .list('kurative.dev/detectors')
        .find((d) => d.metadata.name === 'http-error-ratio') as
        { metadata: { generation?: number }; status?: { backfill?: Record<string, unknown> } } | undefined;
      expect(detector?.status?.backfill).toMatchObject({
        observedGeneration: detector?.metadata.generation,
        samples: first.length,
      });
      // Warmed once: the next scrape sends each series' current value only.
      sandbox.step();
      const second = errorRatios(await tick(kube, config));
      expect(second.length).toBe(services.size);
    } finally {
      await prometheus.close();
    }
  });

  it('skips the warm start of a Detector with too many series for the budget, once, and says so', async () => {
    const asked: string[] = [];
    // A Prometheus whose every query returns 1 500 services.
    const fetch: Fetch = (url) => {
      asked.push(new URL(url).pathname);
      const result = Array.from({ length: 1_500 }, (_, i) => ({
        metric: { namespace: 'shop', service: `s${i}` },
        value: [sandbox.simulator.clock.epochMs / 1000, '0.01'],
      }));
      const body = { status: 'success', data: { resultType: 'vector', result } };
      return Promise.resolve({
        status: 200,
        json: () => Promise.resolve(body),
        text: () => Promise.resolve(''),
      });
    };
    const config = testConfig({
      KURATIVE_PROMETHEUS_URL: 'http://prometheus:9090',
      KURATIVE_BACKFILL_MAX_SAMPLES: '1000',
    });
    const events = await tick(kube, config, fetch);
    expect(asked).not.toContain('/api/v1/query_range');
    const current = events
      .filter((e) => e.type === EVENT_TYPES.metrics)
      .flatMap((e) => (e.data as MetricsData).samples)
      .filter((x) => x.signal === 'http_error_ratio');
    expect(current.length).toBe(1_500);
    const detector = sandbox.simulator.cluster.store
      .list('kurative.dev/detectors')
      .find((d) => d.metadata.name === 'http-error-ratio') as { status?: { backfill?: object } } | undefined;
    expect(detector?.status?.backfill).toMatchObject({ samples: 0, windowSeconds: 0 });
  });

  it('sends current values only when the warm start is off', async () => {
    const prometheus = new SandboxPrometheus(sandbox.simulator);
    const url = await prometheus.listen();
    sandbox.onTick(() => prometheus.record());
    try {
      for (let i = 0; i < 30; i++) sandbox.step();
      const events = await tick(kube, testConfig({ KURATIVE_PROMETHEUS_URL: url, KURATIVE_BACKFILL: '0s' }));
      const samples = events
        .filter((e) => e.type === EVENT_TYPES.metrics)
        .flatMap((e) => (e.data as MetricsData).samples)
        .filter((x) => x.signal === 'http_error_ratio');
      expect(samples.length).toBe(new Set(samples.map((x) => x.entity.name)).size);
      const detectors = sandbox.simulator.cluster.store.list('kurative.dev/detectors') as {
        status?: object;
      }[];
      expect(detectors.some((d) => 'backfill' in (d.status ?? {}))).toBe(false);
    } finally {
      await prometheus.close();
    }
  });

  it('matches limits by the object named, and gives an ambiguous object none', () => {
    const limits = limitsByEntity([
      { labels: { namespace: 's', pod: 'a', container: 'c', node: 'n1' }, value: 100 },
      { labels: { namespace: 's', pod: 'b', container: 'c' }, value: 100 },
      { labels: { namespace: 's', pod: 'b', container: 'c' }, value: 200 },
      { labels: { namespace: 's', pod: 'd', container: 'c' }, value: 0 },
      { labels: { job: 'no-object' }, value: 5 },
    ]);
    expect([...limits]).toEqual([['Pod/s/a/c', 100]]);
  });

  it("names a claim by the kubelet's volume labels, before the node that mounts it", () => {
    expect(entityFromLabels({ namespace: 's', persistentvolumeclaim: 'data', node: 'n1' })).toEqual({
      kind: 'PersistentVolumeClaim',
      namespace: 's',
      name: 'data',
    });
    expect(
      limitsByEntity([{ labels: { namespace: 's', persistentvolumeclaim: 'data' }, value: 2 ** 31 }]),
    ).toEqual(new Map([['PersistentVolumeClaim/s/data/', 2 ** 31]]));
  });
});

describe('scrape', () => {
  it('emits bounded metrics batches of every pod and node', async () => {
    const events = await tick();
    const batches = events.filter((e) => e.type === EVENT_TYPES.metrics).map((e) => e.data as MetricsData);
    expect(batches.length).toBeGreaterThan(0);
    const entities = new Set(batches.flatMap((b) => b.samples.map((s) => s.entity.kind)));
    expect([...entities].sort()).toEqual(['Node', 'Pod']);
    for (const e of events) expect(JSON.stringify(e.data).length).toBeLessThanOrEqual(256 * 1024);
    // Each node's usage comes with what the pods bound to it request, summed.
    const pods = (await kube.core.listPodForAllNamespaces()).items;
    const samples = batches.flatMap((b) => b.samples);
    for (const node of new Set(pods.map((p) => p.spec?.nodeName).filter(Boolean))) {
      const cpu = pods
        .filter((p) => p.spec?.nodeName === node && !['Succeeded', 'Failed'].includes(p.status?.phase ?? ''))
        .flatMap((p) => p.spec?.containers ?? [])
        .reduce((s, c) => s + parseQuantity(c.resources?.requests?.['cpu'] ?? '0')!, 0);
      const sample = samples.find((s) => s.signal === 'node_cpu_usage_cores' && s.entity.name === node);
      expect(cpu).toBeGreaterThan(0);
      expect(sample?.request).toBeCloseTo(cpu, 9);
    }
  });

  it('reads pods and nodes a page at a time, and scrapes the same samples as from one page', async () => {
    const pages: PageRequest[] = [];
    const listPages = recordingJsonPages(kube.kubeConfig, pages);
    const samplesOf = (events: Emitted) =>
      events
        .filter((e) => e.type === EVENT_TYPES.metrics)
        .flatMap((e) => (e.data as MetricsData).samples)
        .map((s) => JSON.stringify(s))
        .sort();
    const whole = samplesOf(await tick(kube, testConfig(), undefined, { listPageSize: 1000 }));
    const paged = samplesOf(await tick(kube, testConfig(), undefined, { listPageSize: 2, listPages }));
    expect(paged).toEqual(whole);
    expect(whole.length).toBeGreaterThan(20);
    const pods = (await kube.core.listPodForAllNamespaces()).items.length;
    const nodes = (await kube.core.listNode()).items.length;
    const count = (path: string) => pages.filter((p) => p.path === path).length;
    expect(count('/api/v1/pods')).toBe(Math.ceil(pods / 2));
    expect(count('/api/v1/nodes')).toBe(Math.ceil(nodes / 2));
    expect(pages.every((p) => p.limit === 2)).toBe(true);
    expect(pages.filter((p) => !p.continued).length).toBe(2);
  });

  it("keeps of each pod and node all that the samples are built from, and less than the API's model", async () => {
    const pods = (await kube.core.listPodForAllNamespaces()).items;
    const nodes = (await kube.core.listNode()).items;
    const podMetrics = (await kube.metrics.getPodMetrics()).items;
    const nodeMetrics = (await kube.metrics.getNodeMetrics()).items;
    const now = at();
    const viewed = buildSamples({
      pods: pods.map(podView),
      nodes: nodes.map(nodeView),
      podMetrics,
      nodeMetrics,
      now,
    });
    expect(viewed).toEqual(buildSamples({ pods, nodes, podMetrics, nodeMetrics, now }));
    expect(viewed.some((s) => s.limit !== undefined && s.entity.kind === 'Pod')).toBe(true);
    expect(viewed.some((s) => s.signal === 'ready' && s.value === 1)).toBe(true);
    const size = (x: unknown) => JSON.stringify(x).length;
    expect(size(pods.map(podView))).toBeLessThan(size(pods) / 3);
  });

  it('views a pod as exactly the fields scrape reads', () => {
    const t = new Date('2026-01-01T00:00:00Z');
    const pod = {
      metadata: {
        name: 'p',
        namespace: 's',
        uid: 'u',
        labels: { app: 'a' },
        managedFields: [{ manager: 'm' }],
      },
      spec: {
        nodeName: 'n1',
        containers: [
          {
            name: 'app',
            image: 'x',
            resources: { limits: { memory: '1Gi' }, requests: { cpu: '1' } },
            env: [{ name: 'A', value: 'b' }],
          },
          { name: 'sidecar', image: 'y' },
        ],
        volumes: [{ name: 'v' }],
      },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }],
        containerStatuses: [
          { name: 'app', restartCount: 3, image: 'x', state: { running: { startedAt: t } } },
          { name: 'sidecar', restartCount: 0, image: 'y' },
        ],
      },
    };
    expect(podView(pod)).toEqual({
      metadata: { name: 'p', namespace: 's', uid: 'u', labels: { app: 'a' } },
      spec: {
        nodeName: 'n1',
        containers: [
          { name: 'app', resources: { limits: { memory: '1Gi' }, requests: { cpu: '1' } } },
          { name: 'sidecar' },
        ],
      },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [
          { name: 'app', restartCount: 3 },
          { name: 'sidecar', restartCount: 0 },
        ],
      },
    });
    const node = { metadata: { name: 'n1', uid: 'n' }, status: { allocatable: { cpu: '4' }, images: [{}] } };
    expect(nodeView(node)).toEqual({
      metadata: { name: 'n1', uid: 'n' },
      status: { allocatable: { cpu: '4' } },
    });
    expect(podView({})).toEqual({
      metadata: {},
      spec: { containers: [] },
      status: { conditions: [], containerStatuses: [] },
    });
  });

  it("sums a node's pod requests per resource, leaving out finished pods; a node without pods has 0", () => {
    const now = '2026-01-01T00:00:00Z';
    const pod = (name: string, node: string, phase: string, cpu: string, memory: string): PodView => ({
      metadata: { name, namespace: 's' },
      spec: {
        nodeName: node,
        containers: [
          { name: 'app', resources: { requests: { cpu, memory } } },
          { name: 'sidecar', resources: { requests: { cpu: '50m' } } },
        ],
      },
      status: { phase },
    });
    const samples = buildSamples({
      pods: [
        pod('a', 'n1', 'Running', '250m', '128Mi'),
        pod('b', 'n1', 'Pending', '1', '1Gi'),
        pod('c', 'n1', 'Failed', '2', '2Gi'),
        pod('d', 'n1', 'Succeeded', '2', '2Gi'),
      ],
      podMetrics: [],
      nodes: [
        { metadata: { name: 'n1' }, status: { allocatable: { cpu: '4', memory: '8Gi' } } },
        { metadata: { name: 'n2' }, status: { allocatable: { cpu: '4', memory: '8Gi' } } },
      ],
      nodeMetrics: ['n1', 'n2'].map((name) => ({
        metadata: { name },
        usage: { cpu: '500m', memory: '1Gi' },
      })),
      now,
    });
    const of = (node: string, signal: string) =>
      samples.find((s) => s.entity.name === node && s.signal === signal);
    expect(of('n1', 'node_cpu_usage_cores')).toMatchObject({ value: 0.5, limit: 4 });
    expect(of('n1', 'node_cpu_usage_cores')?.request).toBeCloseTo(1.35, 9);
    expect(of('n1', 'node_memory_working_set_bytes')).toMatchObject({ request: 1152 * 2 ** 20 });
    expect(of('n2', 'node_cpu_usage_cores')).toMatchObject({ limit: 4, request: 0 });
  });

  it('ticks act only while an Incident is open, so act stays scaled to zero when all is well', async () => {
    expect(ticks(await tick())).toEqual([]);
    const now = sandbox.simulator.clock.epochMs;
    const status = {
      startedAt: new Date(now - 60_000).toISOString(),
      lastSeenAt: new Date(now).toISOString(),
      anomalies: 1,
    };
    await createIncident(kube, 'inc-done', { ...status, phase: 'Resolved' });
    await createIncident(kube, 'inc-gave-up', { ...status, phase: 'Escalated' });
    expect(ticks(await tick())).toEqual([]);
    await createIncident(kube, 'inc-open', { ...status, phase: 'Mitigating' });
    await createIncident(kube, 'inc-new', { ...status, phase: 'Detected' });
    expect(ticks(await tick())).toEqual([{ at: at(), openIncidents: 2 }]);
    for (const name of ['inc-open', 'inc-new'])
      await kube.custom.patchClusterCustomObjectStatus(
        { ...INCIDENTS, name, body: { status: { phase: 'Resolved' } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    expect(ticks(await tick())).toEqual([]);
  });

  it('ticks anyway when the Incidents cannot be listed (a verification must not stall)', async () => {
    const failing = {
      ...kube,
      custom: Object.assign(Object.create(kube.custom) as k8s.CustomObjectsApi, {
        listClusterCustomObject: (req: { plural: string }) =>
          req.plural === 'incidents'
            ? Promise.reject(Object.assign(new Error('boom'), { code: 500 }))
            : kube.custom.listClusterCustomObject(
                req as Parameters<k8s.CustomObjectsApi['listClusterCustomObject']>[0],
              ),
      }),
    } as KubeClients;
    const events = await tick(failing);
    expect(ticks(events)).toEqual([{ at: at() }]);
    expect(events.some((e) => e.type === EVENT_TYPES.metrics)).toBe(true);
  });
});
