import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarios, parseScenario } from '../../sandbox/simulator/scenario.js';
import { fairShares } from '../../sandbox/simulator/nodes.js';
import { Simulator } from '../../sandbox/simulator/simulator.js';
import { field, hogCores } from '../../sandbox/simulator/state.js';
import type { KubeObject } from '../../sandbox/apiserver/types.js';
import { repoRoot } from '../../shared/tools/index.js';

const scenarios = loadScenarios(resolve(repoRoot, 'sandbox/scenarios'));

describe('scenario library', () => {
  it('has the fault classes the design asks for, and benign ones', () => {
    const classes = new Set(scenarios.map((s) => s.truth.faultClass));
    for (const c of [
      'pod-memory-hog',
      'bad-rollout',
      'config-change',
      'node-failure',
      'noisy-neighbour',
      'pod-cpu-hog',
      'pod-network-latency',
      'disk-fill',
      'resource-misconfiguration',
      'quota-exceeded',
      'scheduling-constraint',
      'image-pull',
      'benign',
    ]) {
      expect(classes, c).toContain(c);
    }
    expect(scenarios.filter((s) => s.benign).length).toBeGreaterThanOrEqual(3);
    for (const s of scenarios) {
      expect(s.benign, s.name).toBe(!s.truth.actionWanted);
      if (!s.benign) expect(s.truth.rootCause, s.name).toBeDefined();
    }
  });

  for (const scenario of scenarios) {
    it(`${scenario.name}: runs headless to completion with ${scenario.benign ? 'no harm' : 'a measurable effect'}`, () => {
      const sim = new Simulator(scenario);
      sim.runToEnd();
      expect(sim.done).toBe(true);
      const o = sim.outcome();
      expect(o.simulatedSeconds).toBe(scenario.duration / 1000);
      const harm =
        o.oomKills +
        o.crashes +
        o.evictions +
        o.downtimeSeconds +
        o.errorSeconds +
        o.degradedSeconds +
        o.stalledRolloutSeconds;
      if (scenario.benign) {
        expect(o.oomKills + o.crashes + o.downtimeSeconds + o.errorSeconds).toBe(0);
      } else {
        expect(harm).toBeGreaterThan(0);
        expect(sim.applied.length).toBe(scenario.faults.length);
      }
    });
  }

  it('is deterministic for a seed and varies with it', () => {
    const scenario = scenarios.find((s) => s.name === 'memory-leak');
    if (!scenario) throw new Error('memory-leak scenario missing');
    const run = (seed?: number) => {
      const sim = new Simulator(scenario, seed === undefined ? {} : { seed });
      sim.runToEnd(90 * 60_000);
      const pods = sim.cluster.store.list('/pods').map((p) => `${p.metadata.name}@${p.metadata.uid}`);
      const metrics = sim.cluster.metrics('pods', 'shop').map((m) => JSON.stringify(m['containers']));
      return { outcome: sim.outcome(), pods, metrics, rv: sim.cluster.store.resourceVersion };
    };
    const a = run();
    const b = run();
    expect(b).toEqual(a);
    expect(run(999).metrics).not.toEqual(a.metrics);
  });

  it('memory-leak: OOM kills happen near the stated failure time, not before', () => {
    const scenario = scenarios.find((s) => s.name === 'memory-leak');
    if (!scenario?.truth.failureAt) throw new Error('memory-leak needs failureAt');
    const sim = new Simulator(scenario);
    sim.runToEnd(scenario.truth.failureAt - 10 * 60_000);
    expect(sim.outcome().oomKills).toBe(0);
    sim.runToEnd();
    expect(sim.outcome().oomKills).toBeGreaterThan(0);
  });

  it('node-cpu-saturation: the worker CPU climbs steadily, and the node is all used once overcommitted', () => {
    const scenario = scenarios.find((s) => s.name === 'node-cpu-saturation');
    if (!scenario?.truth.failureAt) throw new Error('node-cpu-saturation needs failureAt');
    const sim = new Simulator(scenario);
    const at = (minute: number) => {
      sim.runToEnd(minute * 60_000);
      const node = sim.ctx.nodes.get('node-1');
      const worker = [...sim.ctx.pods.values()].find((p) => p.name.startsWith('ledger-reconcile-'));
      return { node: node?.cpuUsed ?? 0, worker: worker?.containers[0]?.cpu ?? 0 };
    };
    const before = at(14);
    const climbing = [at(25), at(35), at(42)];
    // Before the fault a few tenths of a core; then ~1.1 more cores every 10 minutes.
    expect(before.node).toBeLessThan(0.6);
    expect(climbing[0]?.worker).toBeGreaterThan(0.9);
    expect((climbing[1]?.worker ?? 0) - (climbing[0]?.worker ?? 0)).toBeCloseTo(1.125, 0);
    expect(climbing[2]?.node).toBeLessThan(4);
    expect(sim.outcome().impairedSeconds).toBe(0);
    // Overcommitted (4.5 cores wanted of 4): CFS hands out all of it, the worker gets what the others leave.
    const full = at(60);
    expect(full.node).toBeCloseTo(4, 5);
    expect(full.worker).toBeGreaterThan(3);
    expect(sim.outcome().impairedSeconds).toBeGreaterThan(0);
  });

  it('shares an overcommitted node in proportion to requests, what one leaves going to the others', () => {
    // Requests 100m, 200m, 250m; the first wants 4.5 cores, the others little.
    expect(fairShares([4.5, 0.15, 0.25], [0.1, 0.2, 0.25], 4)).toEqual([3.6, 0.15, 0.25]);
    // Everyone wants more than the node: plain proportions.
    const shares = fairShares([4, 4, 4], [1, 1, 2], 4);
    expect(shares).toEqual([1, 1, 2]);
    // One wants less than its proportion (1 of 4 cores): the other two split the rest by weight.
    const rest = fairShares([0.5, 4, 4], [1, 1, 2], 4);
    expect(rest[0]).toBe(0.5);
    expect(rest[1]).toBeCloseTo(3.5 / 3, 9);
    expect(rest[2]).toBeCloseTo(7 / 3, 9);
    expect(fairShares([0, 2], [1, 1], 1)).toEqual([0, 1]);
    expect(fairShares([3, 3], [0, 0], 4)).toEqual([2, 2]);
  });

  it('grows a cpu-hog with `over` linearly to its cores, and at once without it', () => {
    const hog = { cores: 3, since: 1_000, overMs: 60_000 };
    expect(hogCores(hog, 0)).toBe(0);
    expect(hogCores(hog, 31_000)).toBeCloseTo(1.5, 9);
    expect(hogCores(hog, 61_000)).toBe(3);
    expect(hogCores(hog, 600_000)).toBe(3);
    expect(hogCores({ ...hog, overMs: 0 }, 0)).toBe(3);
  });

  it('runs StatefulSets in order and DaemonSets on every tolerated node', () => {
    const sim = new Simulator(
      parseScenario(`
name: sts-ds
description: one of each
cluster:
  nodePools:
    - { prefix: node, count: 3 }
    - { prefix: gpu, count: 1, taints: [{ key: gpu, value: "true", effect: NoSchedule }] }
workloads:
  - { name: db, namespace: data, kind: StatefulSet, replicas: 3, requests: { cpu: 100m, memory: 64Mi } }
  - { name: agent, namespace: kube-system, kind: DaemonSet, requests: { cpu: 10m, memory: 16Mi } }
truth: { faultClass: benign, actionWanted: false }
`),
    );
    sim.runToEnd(5 * 60_000);
    const names = (ns: string) =>
      sim.cluster.store
        .list('/pods', ns)
        .map((p) => p.metadata.name)
        .sort();
    expect(names('data')).toEqual(['db-0', 'db-1', 'db-2']);
    expect(names('kube-system')).toEqual(['agent-node-1', 'agent-node-2', 'agent-node-3']);
    const ds = sim.cluster.store.get('apps/daemonsets', 'kube-system', 'agent');
    expect(ds?.['status']).toMatchObject({ desiredNumberScheduled: 3, numberReady: 3 });
  });

  it('scales a StatefulSet down from the highest ordinal, one pod at a time unless its pods are Parallel', () => {
    const run = (policy: string, image?: string) => {
      const sim = new Simulator(
        parseScenario(`
name: sts-down
description: a StatefulSet of four scaled to one
cluster:
  nodePools:
    - { prefix: node, count: 2 }
workloads:
  - { name: db, namespace: data, kind: StatefulSet, replicas: 4, requests: { cpu: 100m, memory: 64Mi } }
truth: { faultClass: benign, actionWanted: false }
`),
      );
      sim.runToEnd(5 * 60_000);
      const type = sim.cluster.kind('apps/v1', 'StatefulSet');
      const sts = structuredClone(sim.cluster.get(type, 'data', 'db'));
      (sts['spec'] as Record<string, unknown>)['replicas'] = 1;
      (sts['spec'] as Record<string, unknown>)['podManagementPolicy'] = policy;
      const container = (sts['spec'] as { template: { spec: { containers: { image: string }[] } } }).template
        .spec.containers[0];
      if (image && container) container.image = image;
      sim.cluster.update(type, sts);
      const after: string[][] = [];
      for (let i = 0; i < 4; i++) {
        sim.step();
        after.push(
          sim.cluster.store
            .list('/pods', 'data')
            .map((p) => p.metadata.name)
            .sort(),
        );
      }
      const deletes = sim.cluster.store
        .list('/events', 'data')
        .filter((e) => e['reason'] === 'SuccessfulDelete')
        .map((e) => String(e['message']));
      return { after, deletes };
    };
    const ordered = run('OrderedReady');
    expect(ordered.after).toEqual([['db-0', 'db-1', 'db-2'], ['db-0', 'db-1'], ['db-0'], ['db-0']]);
    expect(ordered.deletes).toEqual([
      'delete Pod db-3 in StatefulSet db successful',
      'delete Pod db-2 in StatefulSet db successful',
      'delete Pod db-1 in StatefulSet db successful',
    ]);
    expect(run('Parallel').after[0]).toEqual(['db-0']);
    // Scaled down and given a new image at once: the pods go first, then db-0 is replaced (a sync
    // that removed a pod does nothing else).
    const both = run('OrderedReady', 'shop/db:2');
    expect(both.after.slice(0, 3)).toEqual(ordered.after.slice(0, 3));
    expect(both.after[3]).toEqual([]);
  });

  it('pins DaemonSet pods to their nodes and lets the scheduler place them: requests too large stay Pending', () => {
    const run = (agentCpu: string) => {
      const sim = new Simulator(
        parseScenario(`
name: ds-fit
description: a DaemonSet on two 2-CPU nodes
cluster:
  nodePools:
    - { prefix: node, count: 2, cpu: '2' }
workloads:
  - { name: agent, namespace: kube-system, kind: DaemonSet, requests: { cpu: '${agentCpu}', memory: 16Mi } }
truth: { faultClass: benign, actionWanted: false }
`),
      );
      sim.runToEnd(5 * 60_000);
      return sim;
    };
    const fits = run('100m');
    const agents = fits.cluster.store.list('/pods', 'kube-system');
    expect(agents.map((p) => [p.metadata.name, field(p, 'spec.nodeName')])).toEqual([
      ['agent-node-1', 'node-1'],
      ['agent-node-2', 'node-2'],
    ]);
    expect(
      field(
        agents[0] as KubeObject,
        'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution',
      ),
    ).toEqual({
      nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-1'] }] }],
    });
    // Three CPUs on a two-CPU node: created for each node, placed on none, and the scheduler says why.
    const tooBig = run('3');
    expect(tooBig.cluster.store.list('/pods', 'kube-system').map((p) => field(p, 'spec.nodeName'))).toEqual([
      undefined,
      undefined,
    ]);
    const reasons = tooBig.cluster.store
      .list('/events', 'kube-system')
      .filter((e) => e['reason'] === 'FailedScheduling')
      .map((e) => String(e['message']));
    expect(reasons[0]).toMatch(
      /^0\/2 nodes are available: 1 Insufficient cpu, 1 node\(s\) didn't match Pod's node affinity/,
    );
    expect(tooBig.cluster.store.get('apps/daemonsets', 'kube-system', 'agent')?.['status']).toMatchObject({
      desiredNumberScheduled: 2,
      numberReady: 0,
    });
  });

  describe('rolling updates of StatefulSets and DaemonSets', () => {
    const sim = () =>
      new Simulator(
        parseScenario(`
name: rolling
description: a StatefulSet and a DaemonSet, and an image that never pulls
cluster:
  nodePools:
    - { prefix: node, count: 3 }
images:
  data/db:2: { pullFails: true }
  data/agent:2: { pullFails: true }
  data/agent:3: {}
workloads:
  - { name: db, namespace: data, kind: StatefulSet, replicas: 3, image: data/db:1, requests: { cpu: 100m, memory: 64Mi } }
  - { name: agent, namespace: data, kind: DaemonSet, image: data/agent:1, requests: { cpu: 10m, memory: 16Mi } }
truth: { faultClass: benign, actionWanted: false }
`),
      );
    const pods = (s: Simulator, prefix: string) =>
      s.cluster.store
        .list('/pods', 'data')
        .filter((p) => p.metadata.name.startsWith(prefix))
        .map((p) => ({
          name: p.metadata.name,
          revision: p.metadata.labels?.['controller-revision-hash'],
          image: (p['spec'] as { containers: { image: string }[] }).containers[0]?.image,
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
    const setImage = (s: Simulator, kind: string, name: string, image: string) => {
      const type = s.cluster.kind('apps/v1', kind);
      const o = structuredClone(s.cluster.get(type, 'data', name));
      const spec = o['spec'] as { template: { spec: { containers: { image: string }[] } } };
      const container = spec.template.spec.containers[0];
      if (container) container.image = image;
      s.cluster.update(type, o);
    };
    const revisions = (s: Simulator, owner: string) =>
      s.cluster.store
        .list('apps/controllerrevisions', 'data')
        .filter((r) => r.metadata.name.startsWith(`${owner}-`))
        .map((r) => r['revision'])
        .sort();

    it('replaces StatefulSet pods from the highest ordinal, and a pod never Ready blocks it even after a revert', () => {
      const s = sim();
      s.runToEnd(2 * 60_000);
      const good = pods(s, 'db-')[0]?.revision;
      expect(good).toMatch(/^db-/);
      setImage(s, 'StatefulSet', 'db', 'data/db:2');
      s.runToEnd(6 * 60_000);
      // db-2 went first and never became Ready: db-1 and db-0 still run the old revision.
      const rolled = pods(s, 'db-');
      expect(rolled.map((p) => p.image)).toEqual(['data/db:1', 'data/db:1', 'data/db:2']);
      const bad = rolled[2]?.revision;
      expect(bad).not.toBe(good);
      const sts = s.cluster.store.get('apps/statefulsets', 'data', 'db');
      expect(sts?.['status']).toMatchObject({
        updateRevision: bad,
        currentRevision: good,
        updatedReplicas: 1,
      });
      expect(revisions(s, 'db')).toEqual([1, 2]);
      // Reverting the template renumbers the first revision, but the controller waits on db-2.
      setImage(s, 'StatefulSet', 'db', 'data/db:1');
      s.runToEnd(12 * 60_000);
      expect(pods(s, 'db-').map((p) => p.image)).toEqual(['data/db:1', 'data/db:1', 'data/db:2']);
      expect(revisions(s, 'db')).toEqual([2, 3]);
      // Deleting it (the forced rollback) lets the controller recreate it from the good revision.
      s.cluster.delete(s.cluster.kind('v1', 'Pod'), 'data', 'db-2');
      s.runToEnd(14 * 60_000);
      expect(pods(s, 'db-').map((p) => p.revision)).toEqual([good, good, good]);
      expect(s.cluster.store.get('apps/statefulsets', 'data', 'db')?.['status']).toMatchObject({
        readyReplicas: 3,
        currentRevision: good,
        updateRevision: good,
      });
    });

    it('replaces DaemonSet pods one node at a time, and a revert replaces the pod that never became Ready', () => {
      const s = sim();
      s.runToEnd(2 * 60_000);
      setImage(s, 'DaemonSet', 'agent', 'data/agent:2');
      s.runToEnd(6 * 60_000);
      // maxUnavailable 1: one node's pod was replaced and never became Ready; the rollout stalls.
      expect(pods(s, 'agent-').filter((p) => p.image === 'data/agent:2')).toHaveLength(1);
      expect(s.cluster.store.get('apps/daemonsets', 'data', 'agent')?.['status']).toMatchObject({
        numberReady: 2,
        updatedNumberScheduled: 1,
      });
      // A fixed image rolls out everywhere: the pod that is not Ready goes first, at no cost.
      setImage(s, 'DaemonSet', 'agent', 'data/agent:3');
      s.runToEnd(10 * 60_000);
      expect(pods(s, 'agent-').map((p) => p.image)).toEqual(['data/agent:3', 'data/agent:3', 'data/agent:3']);
      expect(s.cluster.store.get('apps/daemonsets', 'data', 'agent')?.['status']).toMatchObject({
        numberReady: 3,
        updatedNumberScheduled: 3,
      });
      expect(revisions(s, 'agent')).toEqual([1, 2, 3]);
    });
  });

  it('memory pressure: the kubelet taints the node and evicts the pod furthest over its request, then clears', () => {
    // One 2Gi node: a cache without a memory limit leaking 100Mi a minute from minute 5, and two
    // web pods within their requests.
    const scenario = parseScenario(`
name: unlimited-leak
description: a pod without a memory limit leaks until its node runs out of memory
seed: 3
duration: 60m
tick: 10s
cluster:
  nodePools: [{ prefix: node, count: 1, cpu: '4', memory: 2Gi }]
workloads:
  - { name: cache, namespace: shop, replicas: 1, image: shop/cache:1, requests: { cpu: 100m, memory: 256Mi }, behaviour: { cpu: 20m, memory: 200Mi, rps: 0, latencyMs: 0 } }
  - { name: web, namespace: shop, replicas: 2, image: shop/web:1, requests: { cpu: 100m, memory: 128Mi }, limits: { cpu: 500m, memory: 256Mi }, behaviour: { cpu: 20m, memory: 100Mi, rps: 0, latencyMs: 0 } }
faults: [{ at: 5m, type: memory-leak, target: { kind: Deployment, namespace: shop, name: cache }, params: { rate: 100Mi, per: m } }]
truth: { faultClass: pod-memory-hog, actionWanted: true }
`);
    const sim = new Simulator(scenario);
    const node = () => sim.cluster.store.peek('/nodes', undefined, 'node-1');
    const pressure = () =>
      (node()?.['status'] as { conditions: { type: string; status: string }[] }).conditions.find(
        (x) => x.type === 'MemoryPressure',
      )?.status;
    const tainted = () =>
      ((node()?.['spec'] as { taints?: { key: string }[] }).taints ?? []).some(
        (t) => t.key === 'node.kubernetes.io/memory-pressure',
      );
    const pods = (prefix: string) =>
      sim.cluster.store.scan('/pods').filter((p) => p.metadata.name.startsWith(prefix));
    const status = (p: { [k: string]: unknown }) =>
      p['status'] as { phase?: string; reason?: string; message?: string };
    const evicted = () => sim.cluster.store.scan('/pods').filter((p) => status(p).reason === 'Evicted');
    // ~1.7Gi free at the start: the leak uses it up about 15 minutes after it begins.
    sim.runToEnd(19 * 60_000);
    expect(pressure()).toBe('False');
    expect(tainted()).toBe(false);
    expect(evicted()).toHaveLength(0);
    sim.runToEnd(21 * 60_000);
    expect(pressure()).toBe('True');
    expect(tainted()).toBe(true);
    // One eviction, the cache: far over its request; the web pods are within theirs.
    expect(evicted().map((p) => p.metadata.name.split('-')[0])).toEqual(['cache']);
    expect(status(evicted()[0] ?? {}).message).toMatch(
      /^The node was low on resource: memory\. Threshold quantity: 100Mi, available: \d+Ki\. Container app was using \d+Ki, request is 262144Ki, has larger consumption of memory\.$/,
    );
    expect(sim.outcome().evictions).toBe(1);
    // Its replacement waits: the taint keeps it off the only node.
    expect(
      pods('cache-')
        .map((p) => status(p).phase)
        .sort(),
    ).toEqual(['Failed', 'Pending']);
    // Five minutes with memory available again: the condition and the taint clear, the replacement runs.
    sim.runToEnd(27 * 60_000);
    expect(pressure()).toBe('False');
    expect(tainted()).toBe(false);
    expect(
      pods('cache-')
        .map((p) => status(p).phase)
        .sort(),
    ).toEqual(['Failed', 'Running']);
    expect(pods('web-').every((p) => status(p).phase === 'Running')).toBe(true);
  });

  it('rejects an invalid scenario with a message naming the field', () => {
    expect(() =>
      parseScenario(
        'name: x\ndescription: y\nduration: forever\ntruth: { faultClass: benign, actionWanted: false }',
      ),
    ).toThrow(/duration/);
    expect(() =>
      parseScenario('name: x\ndescription: y\ntruth: { faultClass: made-up, actionWanted: false }'),
    ).toThrow(/truth.faultClass/);
    expect(() => parseScenario('name: [')).toThrow(/YAML/);
    const hog = (over: string) =>
      parseScenario(
        `name: x\ndescription: y\nfaults: [{ at: 1m, type: cpu-hog, params: { cores: 2, over: ${over} } }]\ntruth: { faultClass: benign, actionWanted: false }`,
      );
    expect(() => hog('a-while')).toThrow(/faults\.0\.params\.over.*invalid duration "a-while"/s);
    expect(hog('40m').faults[0]?.params['over']).toBe('40m');
  });
});
