import { describe, expect, it } from 'vitest';
import type { CloudEventV1 } from 'cloudevents';
import { Cluster } from '../../sandbox/apiserver/cluster.js';
import { SimClock } from '../../sandbox/clock.js';
import { createPingSource, startApiServerSource } from '../../sandbox/sources.js';
import { loadScenarios, scaleScenario, scaleTo } from '../../sandbox/simulator/scenario.js';
import { repoRoot } from '../../shared/tools/index.js';
import { resolve } from 'node:path';

describe('event sources', () => {
  it('ApiServerSource: Resource-mode events with kind/name/namespace/apiversion extensions and subject', () => {
    const cluster = new Cluster();
    const seen: CloudEventV1<unknown>[] = [];
    const stop = startApiServerSource({
      cluster,
      resources: [{ apiVersion: 'v1', kind: 'ConfigMap', selector: 'app=web' }],
      namespaces: ['shop'],
      sourceUrl: 'https://api',
      publish: (e) => seen.push(e),
    });
    const ns = (name: string) =>
      cluster.create(cluster.kind('v1', 'Namespace'), {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name },
      });
    ns('shop');
    ns('other');
    const cmType = cluster.kind('v1', 'ConfigMap');
    cluster.create(cmType, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a', namespace: 'shop', labels: { app: 'web' } },
      data: { k: '1' },
    });
    cluster.create(cmType, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'b', namespace: 'shop', labels: { app: 'db' } },
    });
    cluster.create(cmType, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'other', labels: { app: 'web' } },
    });
    const a = cluster.get(cmType, 'shop', 'a');
    cluster.update(cmType, { ...a, data: { k: '2' } });
    cluster.delete(cmType, 'shop', 'a');
    stop();
    cluster.create(cmType, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'late', namespace: 'shop', labels: { app: 'web' } },
    });
    expect(seen.map((e) => e.type)).toEqual([
      'dev.knative.apiserver.resource.add',
      'dev.knative.apiserver.resource.update',
      'dev.knative.apiserver.resource.delete',
    ]);
    const first = seen[0] as CloudEventV1<{ data: { k: string }; kind: string }> & Record<string, unknown>;
    expect(first).toMatchObject({
      source: 'https://api',
      subject: '/api/v1/namespaces/shop/configmaps/a',
      kind: 'ConfigMap',
      name: 'a',
      namespace: 'shop',
      apiversion: 'v1',
      datacontenttype: 'application/json',
    });
    expect((seen[1]?.data as { data: unknown }).data).toEqual({ k: '2' });
    expect(new Set(seen.map((e) => e.id)).size).toBe(3);
  });

  it('PingSource: one tick per period of simulated time, none missed when the clock jumps', () => {
    const clock = new SimClock(0);
    const seen: CloudEventV1<unknown>[] = [];
    const ping = createPingSource({ clock, everyMs: 60_000, source: '/ping', publish: (e) => seen.push(e) });
    clock.advance(30_000);
    ping.onTick();
    expect(seen).toHaveLength(0);
    clock.advance(200_000);
    ping.onTick();
    expect(seen.map((e) => e.time)).toEqual([
      '1970-01-01T00:01:00.000Z',
      '1970-01-01T00:02:00.000Z',
      '1970-01-01T00:03:00.000Z',
    ]);
    expect(seen[0]).toMatchObject({
      type: 'dev.knative.sources.ping',
      datacontenttype: 'application/json',
      data: {},
    });
  });
});

describe('scaled scenarios', () => {
  const base = loadScenarios(resolve(repoRoot, 'sandbox/scenarios')).find((s) => s.name === 'memory-leak');
  it('repeats workloads in new namespaces and multiplies nodes, leaving faults on the original', () => {
    if (!base) throw new Error('memory-leak missing');
    const big = scaleScenario(base, { copies: 3, nodeFactor: 4 });
    expect(big.workloads).toHaveLength(base.workloads.length * 3);
    expect(new Set(big.workloads.map((w) => w.namespace))).toEqual(new Set(['shop', 'shop-1', 'shop-2']));
    expect(big.cluster.nodePools[0]?.count).toBe((base.cluster.nodePools[0]?.count ?? 0) * 4);
    expect(big.faults).toEqual(base.faults);
    const target = scaleTo(base, { pods: 10_000, nodes: 500 });
    const pods = target.workloads.reduce((s, w) => s + w.replicas, 0);
    const nodes = target.cluster.nodePools.reduce((s, p) => s + p.count, 0);
    expect(pods).toBeGreaterThanOrEqual(10_000);
    expect(pods).toBeLessThan(10_010);
    expect(nodes).toBeGreaterThanOrEqual(500);
    expect(nodes).toBeLessThan(510);
  });
});
