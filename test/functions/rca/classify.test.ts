import { describe, expect, it } from 'vitest';
import type { AnomalyData } from '../../../shared/contracts/index.js';
import { DiagnosisData } from '../../../shared/contracts/index.js';
import { classifyFault, recommendActions } from '../../../functions/rca/classify.js';
import type { Change } from '../../../functions/rca/changes.js';
import { diagnose } from '../../../functions/rca/diagnose.js';
import { buildTopology, type ClusterSnapshot } from '../../../functions/rca/topology.js';

const deploy = { kind: 'Deployment', namespace: 'shop', name: 'cart' };
const node = { kind: 'Node', name: 'n1' };
const rollout = { object: 'Deployment/shop/cart', at: 0, kind: 'rollout' as const, description: 'rollout' };
const symptom = (reason: string, message = ''): AnomalyData => ({
  anomalyId: reason,
  entity: { kind: 'Pod', namespace: 'shop', name: 'cart-1' },
  signal: `k8s:${reason}`,
  kind: 'symptom',
  detector: 't',
  score: 1,
  threshold: 1,
  severity: 'critical',
  onset: '2026-01-01T00:00:00Z',
  observedAt: '2026-01-01T00:00:00Z',
  reason,
  message,
});
const metric = (signal: string, kind: AnomalyData['kind'] = 'deviation'): AnomalyData => ({
  ...symptom('x'),
  signal,
  kind,
  reason: undefined,
});

const climbing = (signal: string, value: number, level: number): AnomalyData => ({
  ...metric(signal),
  value,
  baseline: { level, spread: level / 10 },
});

/** Diagnose anomalies against a snapshot (its topology built from it), at the start of 2026. */
const diagnoseIn = (snapshot: ClusterSnapshot, anomalies: AnomalyData[], changes: Change[] = []) =>
  diagnose({
    incidentId: 'inc-t',
    topology: buildTopology(snapshot),
    snapshot,
    anomalies,
    changes,
    now: Date.UTC(2026, 0, 1),
  })?.diagnosis;

/** The ReplicaSet of Deployment shop/catalog (uid d1) that owns the catalog-1-… pods. */
const catalogReplicaSet = {
  metadata: {
    name: 'catalog-1',
    namespace: 'shop',
    uid: 'r1',
    ownerReferences: [{ kind: 'Deployment', name: 'catalog', uid: 'd1', controller: true }],
  },
};

describe('classifyFault', () => {
  it.each([
    ['node NotReady', node, [symptom('NodeNotReady')], undefined, 'node-failure'],
    // Memory pressure is a node running out of memory (the kubelet evicts), not a failed node to
    // empty, also with replacements waiting on its taint.
    ['node memory pressure', node, [symptom('MemoryPressure')], undefined, 'node-memory-hog'],
    [
      'memory pressure, replacements waiting',
      node,
      [
        symptom('MemoryPressure'),
        symptom('FailedScheduling', 'untolerated taint {node.kubernetes.io/memory-pressure: }'),
      ],
      undefined,
      'node-memory-hog',
    ],
    ['node PID pressure', node, [symptom('PIDPressure')], undefined, 'node-failure'],
    // A busy node is not a failed one: moving every pod off it would be a false action.
    ['node busy only', node, [metric('node_cpu_usage_cores')], undefined, 'unknown'],
    // Predicted to run out of allocatable CPU or memory: named for what runs out, still not a failure.
    ['node CPU saturating', node, [metric('node_cpu_usage_cores', 'forecast')], undefined, 'node-cpu-hog'],
    [
      'node memory filling',
      node,
      [metric('node_memory_working_set_bytes', 'forecast')],
      undefined,
      'node-memory-hog',
    ],
    ['config object', { kind: 'ConfigMap', namespace: 'shop', name: 'c' }, [], undefined, 'config-change'],
    ['quota', deploy, [symptom('FailedCreate', 'exceeded quota: q')], rollout, 'quota-exceeded'],
    [
      'limit range',
      deploy,
      [symptom('FailedCreate', 'maximum cpu usage per Container is 700m')],
      rollout,
      'resource-misconfiguration',
    ],
    [
      'too big to schedule',
      deploy,
      [symptom('FailedScheduling', '0/3 nodes are available: 3 Insufficient cpu.')],
      rollout,
      'resource-misconfiguration',
    ],
    [
      'affinity',
      deploy,
      [symptom('FailedScheduling', "didn't match Pod's node affinity/selector")],
      rollout,
      'scheduling-constraint',
    ],
    ['image', deploy, [symptom('ImagePullBackOff')], rollout, 'image-pull'],
    ['OOM after rollout', deploy, [symptom('OOMKilled')], rollout, 'resource-misconfiguration'],
    ['leak', deploy, [metric('memory_working_set_bytes', 'forecast')], undefined, 'pod-memory-hog'],
    ['crash after rollout', deploy, [symptom('CrashLoopBackOff')], rollout, 'bad-rollout'],
    ['errors after rollout', deploy, [metric('http_error_ratio')], rollout, 'bad-rollout'],
    ['slower after rollout', deploy, [metric('http_latency_ms')], rollout, 'bad-rollout'],
    [
      'disk',
      deploy,
      [symptom('Evicted', 'Pod ephemeral local storage usage exceeds the total limit')],
      undefined,
      'disk-fill',
    ],
    ['disk filling', deploy, [metric('container_fs_usage_bytes', 'forecast')], undefined, 'disk-fill'],
    [
      'volume filling',
      deploy,
      [metric('kubelet_volume_stats_used_bytes', 'forecast')],
      undefined,
      'disk-fill',
    ],
    // A container's storage climbing far above its usual level fills its node's disk when it has no
    // limit to forecast against.
    ['disk climbing', deploy, [climbing('container_fs_usage_bytes', 3e9, 1e8)], undefined, 'disk-fill'],
    // Named for storage, but usage falling, or a deviation that says nothing of its direction.
    ['disk freed', deploy, [climbing('container_fs_usage_bytes', 1e8, 3e9)], undefined, 'unknown'],
    ['disk busy', deploy, [metric('container_fs_usage_bytes')], undefined, 'unknown'],
    // "fs" inside a word is not a filesystem.
    ['offsets', deploy, [metric('consumer_offsets_lag', 'forecast')], undefined, 'unknown'],
    ['cpu with limits', deploy, [metric('cpu_usage_cores')], undefined, 'pod-cpu-hog'],
    ['latency', deploy, [metric('http_latency_ms')], undefined, 'pod-network-latency'],
  ] as const)('%s → %s', (_name, root, own, change, expected) => {
    expect(classifyFault({ root, own, all: own, change })).toBe(expected);
  });

  it('CPU rising on several workloads at once while nothing fails is load, not a hog', () => {
    const cpu = [metric('cpu_usage_cores'), metric('node_cpu_usage_cores')];
    const input = { root: deploy, own: cpu, all: cpu, change: undefined };
    expect(classifyFault({ ...input, cpuRisingWorkloads: 3 })).toBe('benign');
    expect(recommendActions('benign', { root: deploy, rollout: false })).toEqual([]);
    // Two workloads are not yet load; and load that makes a service fail, or a pod crash, is a fault.
    expect(classifyFault({ ...input, cpuRisingWorkloads: 2 })).toBe('pod-cpu-hog');
    const errors = {
      ...metric('http_error_ratio'),
      entity: { kind: 'Service', namespace: 'shop', name: 'cart' },
    };
    expect(classifyFault({ ...input, all: [...cpu, errors], cpuRisingWorkloads: 3 })).toBe('pod-cpu-hog');
    expect(
      classifyFault({ ...input, all: [...cpu, symptom('CrashLoopBackOff')], cpuRisingWorkloads: 3 }),
    ).toBe('pod-cpu-hog');
  });

  it("one workload's CPU rising within its pods' requests while nothing fails is load, not a hog", () => {
    const cpu = [metric('cpu_usage_cores')];
    const input = { root: deploy, own: cpu, all: cpu, change: undefined, cpuRisingWorkloads: 1 };
    expect(classifyFault({ ...input, cpuWithinRequests: true })).toBe('benign');
    // Past its requests it is a hog; within them but with its service failing, a fault all the same.
    expect(classifyFault({ ...input, cpuWithinRequests: false })).toBe('pod-cpu-hog');
    const errors = {
      ...metric('http_error_ratio'),
      entity: { kind: 'Service', namespace: 'shop', name: 'cart' },
    };
    expect(classifyFault({ ...input, all: [...cpu, errors], cpuWithinRequests: true })).toBe('pod-cpu-hog');
  });

  it('memory climbing in a workload without a memory limit is a memory hog, for a human to limit', () => {
    const growing = climbing('memory_working_set_bytes', 3e9, 4e8);
    const input = { root: deploy, own: [growing], all: [growing], change: undefined };
    expect(classifyFault({ ...input, memoryLimited: false })).toBe('pod-memory-hog');
    // Its pod evicted for memory and the replacement waiting on the pressure taint follow from it.
    const after = [
      growing,
      symptom('Evicted', 'The node was low on resource: memory.'),
      symptom(
        'FailedScheduling',
        '0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/memory-pressure: }',
      ),
    ];
    expect(classifyFault({ ...input, own: after, all: after, memoryLimited: false })).toBe('pod-memory-hog');
    // With a limit it would be OOM-killed (and forecast) first; memory falling is no hog; a rollout
    // is judged as a rollout.
    expect(classifyFault({ ...input, memoryLimited: true })).toBe('unknown');
    const freed = climbing('memory_working_set_bytes', 4e8, 3e9);
    expect(classifyFault({ ...input, own: [freed], all: [freed], memoryLimited: false })).toBe('unknown');
    expect(classifyFault({ ...input, change: rollout, memoryLimited: false })).not.toBe('pod-memory-hog');
    // Once its pod is evicted for memory the replacement has no baseline yet: the eviction says it.
    const evictedOnly = [
      symptom('Evicted', 'The node was low on resource: memory. Threshold quantity: 100Mi'),
      symptom('FailedScheduling', 'untolerated taint {node.kubernetes.io/memory-pressure: }'),
    ];
    expect(classifyFault({ ...input, own: evictedOnly, all: evictedOnly, memoryLimited: false })).toBe(
      'pod-memory-hog',
    );
    // No limit to raise, and a restart only postpones it: a human is told to set one.
    const actions = recommendActions('pod-memory-hog', {
      root: deploy,
      rollout: false,
      memoryLimited: false,
    });
    expect(actions.map((a) => a.type)).toEqual(['notify']);
    expect(actions[0]?.reason).toMatch(/set one/);
    const limitedActions = recommendActions('pod-memory-hog', {
      root: deploy,
      rollout: false,
      memoryLimited: true,
    });
    expect(limitedActions.map((a) => a.type)).toEqual(['adjustResources', 'restartPod']);
  });

  /** cart's replicas changed by hand, as rca notes it from the Deployment's updates. */
  const scaling = (from: number, to: number): Change => ({
    object: 'Deployment/shop/cart',
    at: 0,
    kind: 'scale',
    description: `scaled ${from} → ${to} replicas`,
    replicas: { from, to },
  });

  it('a workload scaled to zero before its service failed is scaled back', () => {
    const errors = {
      ...metric('http_error_ratio'),
      entity: { kind: 'Service', namespace: 'shop', name: 'cart' },
    };
    const scaled = scaling(3, 0);
    expect(classifyFault({ root: deploy, own: [errors], all: [errors], change: scaled })).toBe(
      'config-change',
    );
    const actions = recommendActions('config-change', { root: deploy, rollout: false, change: scaled });
    expect(actions.map((a) => [a.type, a.params])).toEqual([
      ['scaleWorkload', { delta: 3 }],
      ['notify', {}],
    ]);
    // Scaled down but not to zero: not this rule.
    const down = { ...scaled, replicas: { from: 3, to: 2 } };
    expect(classifyFault({ root: deploy, own: [errors], all: [errors], change: down })).toBe('unknown');
  });

  it('a quota used up without a rollout (a scale-up) is only notified: changing the workload would fight someone', () => {
    const quota = symptom('FailedCreate', 'exceeded quota: shop-quota');
    const up = scaling(2, 12);
    expect(classifyFault({ root: deploy, own: [quota], all: [quota], change: up })).toBe('quota-exceeded');
    const actions = recommendActions('quota-exceeded', { root: deploy, rollout: false, change: up });
    expect(actions.map((a) => [a.type, a.reason])).toEqual([
      [
        'notify',
        "scaled 2 → 12 replicas, beyond the namespace's ResourceQuota: raise the quota or scale back",
      ],
    ]);
    expect(recommendActions('quota-exceeded', { root: deploy, rollout: true }).map((a) => a.type)).toEqual([
      'rollbackDeployment',
      'notify',
    ]);
  });

  it('a CPU hog without a CPU limit is a noisy neighbour', () => {
    expect(
      classifyFault({
        root: deploy,
        own: [metric('cpu_usage_cores')],
        all: [],
        change: undefined,
        cpuLimited: false,
      }),
    ).toBe('noisy-neighbour');
  });

  it('recommends rolling back a bad rollout and moving pods off a failed node', () => {
    expect(recommendActions('bad-rollout', { root: deploy, rollout: true }).map((a) => a.type)).toEqual([
      'rollbackDeployment',
    ]);
    expect(recommendActions('node-failure', { root: node, rollout: false }).map((a) => a.type)).toEqual([
      'moveOffNode',
      'cordonNode',
    ]);
    expect(recommendActions('node-cpu-hog', { root: node, rollout: false }).map((a) => a.type)).toEqual([
      'notify',
    ]);
    expect(recommendActions('benign', { root: deploy, rollout: false })).toEqual([]);
    // A filling claim is grown (within the policy's bounds); a container's disk is freed by a restart.
    const claim = { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data' };
    expect(recommendActions('disk-fill', { root: claim, rollout: false })[0]).toMatchObject({
      type: 'expandVolume',
      target: claim,
      params: { factor: 1.5 },
    });
    expect(recommendActions('disk-fill', { root: deploy, rollout: false })[0]?.type).toBe('restartPod');
    expect(
      classifyFault({ root: claim, own: [], all: [symptom('CrashLoopBackOff')], change: undefined }),
    ).toBe('disk-fill');
  });
});

describe('diagnose', () => {
  it('produces a valid diagnosis with the cause, the path to every symptom and its evidence', () => {
    const snapshot: ClusterSnapshot = {
      deployments: [{ metadata: { name: 'cart', namespace: 'shop', uid: 'd1' } }],
      replicaSets: [
        {
          metadata: {
            name: 'cart-1',
            namespace: 'shop',
            uid: 'r1',
            ownerReferences: [{ kind: 'Deployment', name: 'cart', uid: 'd1', controller: true }],
          },
        },
      ],
      pods: [
        {
          metadata: {
            name: 'cart-1-a',
            namespace: 'shop',
            uid: 'p1',
            ownerReferences: [{ kind: 'ReplicaSet', name: 'cart-1', uid: 'r1', controller: true }],
          },
          spec: { nodeName: 'n1' },
        },
      ],
      nodes: [{ metadata: { name: 'n1' } }],
      services: [],
      configMaps: [],
      secrets: [],
      statefulSets: [],
      daemonSets: [],
      hpas: [],
    };
    const anomalies = [
      { ...symptom('OOMKilled'), entity: { kind: 'Pod', namespace: 'shop', name: 'cart-1-a' } },
    ];
    const result = diagnose({
      incidentId: 'inc-1',
      topology: buildTopology(snapshot),
      snapshot,
      anomalies,
      changes: [],
      now: Date.UTC(2026, 0, 1),
    });
    expect(result).toBeDefined();
    const d = DiagnosisData.parse(result?.diagnosis);
    expect(d.candidates[0]?.object).toMatchObject({ kind: 'Deployment', name: 'cart' });
    expect(d.candidates[0]?.faultClass).toBe('pod-memory-hog');
    expect(d.causalPath.map((s) => `${s.from.kind}->${s.to.kind}:${s.relation}`)).toEqual([
      'Deployment->ReplicaSet:owns',
      'ReplicaSet->Pod:owns',
    ]);
    expect(d.causalPath[1]?.evidence).toEqual([0]);
    expect(d.explanation).toMatch(/Deployment shop\/cart is the most likely cause \(pod-memory-hog\)/);
    expect(d.recommendedActions[0]?.type).toBe('adjustResources');
  });
});

describe('diagnose: an environment change blocks scheduling', () => {
  it('names the tainted node, not the workload that did not change', () => {
    const snapshot: ClusterSnapshot = {
      deployments: [{ metadata: { name: 'currency', namespace: 'shop', uid: 'd1' } }],
      replicaSets: [
        {
          metadata: {
            name: 'currency-1',
            namespace: 'shop',
            uid: 'r1',
            ownerReferences: [{ kind: 'Deployment', name: 'currency', uid: 'd1', controller: true }],
            annotations: { 'deployment.kubernetes.io/revision': '1' },
          },
        },
      ],
      pods: [
        {
          metadata: {
            name: 'currency-1-a',
            namespace: 'shop',
            uid: 'p1',
            ownerReferences: [{ kind: 'ReplicaSet', name: 'currency-1', uid: 'r1', controller: true }],
          },
          spec: {},
        },
      ],
      nodes: [
        {
          metadata: { name: 'n1' },
          spec: { taints: [{ key: 'key1', value: 'value1', effect: 'NoSchedule' }] },
        },
      ],
      services: [],
      configMaps: [],
      secrets: [],
      statefulSets: [],
      daemonSets: [],
      hpas: [],
    };
    const pending = {
      ...symptom(
        'FailedScheduling',
        '0/1 nodes are available: 1 node(s) had untolerated taint {key1: value1}.',
      ),
      entity: { kind: 'Pod', namespace: 'shop', name: 'currency-1-a' },
    };
    const result = diagnose({
      incidentId: 'inc-2',
      topology: buildTopology(snapshot),
      snapshot,
      anomalies: [pending],
      changes: [],
      now: Date.UTC(2026, 0, 1),
    });
    expect(result?.diagnosis.candidates[0]?.object).toMatchObject({ kind: 'Node', name: 'n1' });
    expect(result?.diagnosis.candidates[0]?.faultClass).toBe('scheduling-constraint');
    expect(result?.diagnosis.recommendedActions.map((a) => a.type)).toEqual(['notify']);
  });
});

describe('diagnose: slow while its pods run at their CPU limit', () => {
  const pod = (name: string) => ({
    metadata: {
      name,
      namespace: 'shop',
      uid: name,
      ownerReferences: [{ kind: 'ReplicaSet', name: 'catalog-1', uid: 'r1', controller: true }],
    },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'app', resources: { limits: { cpu: '500m', memory: '256Mi' } } }],
    },
  });
  const snapshot = (cpu: readonly string[] | undefined): ClusterSnapshot => ({
    deployments: [{ metadata: { name: 'catalog', namespace: 'shop', uid: 'd1' } }],
    replicaSets: [catalogReplicaSet],
    pods: [pod('catalog-1-a'), pod('catalog-1-b')],
    nodes: [{ metadata: { name: 'n1' } }],
    services: [],
    configMaps: [],
    statefulSets: [],
    daemonSets: [],
    hpas: [],
    ...(cpu
      ? {
          podMetrics: cpu.map((c, i) => ({
            metadata: { name: `catalog-1-${'ab'[i] ?? ''}`, namespace: 'shop' },
            containers: [{ name: 'app', usage: { cpu: c, memory: '100Mi' } }],
          })),
        }
      : {}),
  });
  const slow = {
    ...metric('http_latency_ms'),
    entity: { kind: 'Pod', namespace: 'shop', name: 'catalog-1-a' },
  };
  const run = (cpu: readonly string[] | undefined) => {
    const s = snapshot(cpu);
    const d = diagnose({
      incidentId: 'inc-3',
      topology: buildTopology(s),
      snapshot: s,
      anomalies: [slow],
      changes: [],
      now: Date.UTC(2026, 0, 1),
    })?.diagnosis;
    return {
      faultClass: d?.candidates[0]?.faultClass,
      explanation: d?.explanation ?? '',
      evidence: d?.evidence,
    };
  };

  it('is a CPU hog when a pod uses nearly all its CPU limit, with the figures as evidence', () => {
    const d = run(['480m', '120m']);
    expect(d.faultClass).toBe('pod-cpu-hog');
    expect(d.explanation).toMatch(/run at their CPU limit: catalog-1-a\/app 480m of 500m/);
    expect(d.evidence?.some((e) => /CPU at its limit \(throttled\)/.test(e.description))).toBe(true);
  });

  it('stays network latency when its pods have CPU to spare, or when there are no usage figures', () => {
    expect(run(['300m', '120m']).faultClass).toBe('pod-network-latency');
    expect(run(undefined).faultClass).toBe('pod-network-latency');
  });
});

describe('diagnose: a neighbour without a CPU limit starving a node', () => {
  const owned = (name: string, rs: string) => ({
    name,
    namespace: 'shop',
    uid: name,
    ownerReferences: [{ kind: 'ReplicaSet', name: rs, uid: rs, controller: true }],
  });
  const workload = (name: string) => ({
    deployment: { metadata: { name, namespace: 'shop', uid: `d-${name}` } },
    replicaSet: {
      metadata: {
        name: `${name}-1`,
        namespace: 'shop',
        uid: `${name}-1`,
        ownerReferences: [{ kind: 'Deployment', name, uid: `d-${name}`, controller: true }],
      },
    },
  });
  const catalog = workload('catalog');
  const report = workload('report');
  const snapshot = (reportCores: string): ClusterSnapshot => ({
    deployments: [catalog.deployment, report.deployment],
    replicaSets: [catalog.replicaSet, report.replicaSet],
    pods: [
      {
        metadata: owned('catalog-1-a', 'catalog-1'),
        spec: { nodeName: 'n1', containers: [{ name: 'app', resources: { limits: { cpu: '500m' } } }] },
      },
      {
        metadata: owned('report-1-a', 'report-1'),
        spec: { nodeName: 'n1', containers: [{ name: 'app', resources: { requests: { cpu: '100m' } } }] },
      },
    ],
    nodes: [{ metadata: { name: 'n1' }, status: { allocatable: { cpu: '4' } } }],
    services: [],
    configMaps: [],
    statefulSets: [],
    daemonSets: [],
    hpas: [],
    podMetrics: [
      {
        metadata: { name: 'catalog-1-a', namespace: 'shop' },
        containers: [{ name: 'app', usage: { cpu: '300m' } }],
      },
      {
        metadata: { name: 'report-1-a', namespace: 'shop' },
        containers: [{ name: 'app', usage: { cpu: reportCores } }],
      },
    ],
  });
  const slow = {
    ...metric('http_latency_ms'),
    entity: { kind: 'Pod', namespace: 'shop', name: 'catalog-1-a' },
  };
  const run = (reportCores: string, anomalies: AnomalyData[] = [slow]) =>
    diagnoseIn(snapshot(reportCores), anomalies);

  it('names the neighbour taking most of the saturated node, as a noisy neighbour', () => {
    const d = run('3700m');
    expect(d?.candidates[0]?.object).toMatchObject({ kind: 'Deployment', name: 'report' });
    expect(d?.candidates[0]?.faultClass).toBe('noisy-neighbour');
    expect(d?.explanation).toMatch(/pod report-1-a uses 3\.7 of n1's 4 allocatable cores with no CPU limit/);
    expect(d?.recommendedActions[0]).toMatchObject({ type: 'adjustResources', params: { resource: 'cpu' } });
  });

  it('leaves the diagnosis alone when the node has CPU to spare, or a CPU baseline tells the story', () => {
    expect(run('2000m')?.candidates[0]?.object).toMatchObject({ name: 'catalog' });
    const hog = {
      ...metric('cpu_usage_cores'),
      entity: { kind: 'Pod', namespace: 'shop', name: 'catalog-1-a' },
    };
    expect(run('3700m', [slow, hog])?.candidates[0]?.object).toMatchObject({ name: 'catalog' });
  });

  // The node's CPU forecast fires before the node is full, and the neighbour's own CPU has no
  // baseline yet (it began climbing soon after kurative started): the node alone is in the incident.
  const filling: AnomalyData = {
    ...metric('node_cpu_usage_cores', 'forecast'),
    entity: { kind: 'Node', name: 'n1' },
  };

  it('names the neighbour driving a node predicted to run out of CPU, before the node is full', () => {
    const d = run('1500m', [filling]);
    expect(d?.candidates[0]?.object).toMatchObject({ kind: 'Deployment', name: 'report' });
    expect(d?.candidates[0]?.faultClass).toBe('noisy-neighbour');
    expect(d?.explanation).toMatch(
      /pod report-1-a uses 1\.5 of n1's 4 allocatable cores with no CPU limit, driving n1 to run out of CPU/,
    );
    expect(d?.recommendedActions[0]).toMatchObject({ type: 'adjustResources', params: { resource: 'cpu' } });
  });

  it('blames the node itself when no pod without a limit takes most of what it uses', () => {
    const d = run('200m', [filling]);
    expect(d?.candidates[0]?.object).toMatchObject({ kind: 'Node', name: 'n1' });
    expect(d?.candidates[0]?.faultClass).toBe('node-cpu-hog');
  });
});

describe('diagnose: CPU rising with the requests to its Service is load', () => {
  const pod = (name: string) => ({
    metadata: {
      name,
      namespace: 'shop',
      uid: name,
      labels: { app: 'catalog' },
      ownerReferences: [{ kind: 'ReplicaSet', name: 'catalog-1', uid: 'r1', controller: true }],
    },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'app', resources: { requests: { cpu: '100m' }, limits: { cpu: '500m' } } }],
    },
  });
  const snapshot = (demand: ClusterSnapshot['demand'], cpuLimit = '500m'): ClusterSnapshot => ({
    deployments: [
      {
        metadata: { name: 'catalog', namespace: 'shop', uid: 'd1' },
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'app', resources: { requests: { cpu: '100m' }, limits: { cpu: cpuLimit } } },
              ],
            },
          },
        },
      },
    ],
    replicaSets: [catalogReplicaSet],
    pods: [pod('catalog-1-a'), pod('catalog-1-b')],
    nodes: [{ metadata: { name: 'n1' } }],
    services: [{ metadata: { name: 'catalog', namespace: 'shop' }, spec: { selector: { app: 'catalog' } } }],
    configMaps: [],
    statefulSets: [],
    daemonSets: [],
    hpas: [],
    ...(demand ? { demand } : {}),
  });
  // catalog-1-a's CPU tripled, past its 100m request.
  const busy = {
    ...climbing('cpu_usage_cores', 0.3, 0.1),
    entity: { kind: 'Pod', namespace: 'shop', name: 'catalog-1-a', container: 'app' },
  };
  const errors = {
    ...metric('http_error_ratio'),
    entity: { kind: 'Service', namespace: 'shop', name: 'catalog' },
  };
  const run = (demand: ClusterSnapshot['demand'], anomalies: AnomalyData[] = [busy], cpuLimit?: string) =>
    diagnoseIn(snapshot(demand, cpuLimit), anomalies);
  const fourfold = [{ namespace: 'shop', service: 'catalog', before: 50, since: 200 }];

  it('names the rise in requests, with the Service rate as evidence, and recommends nothing', () => {
    const d = run(fourfold);
    expect(d?.candidates[0]?.faultClass).toBe('benign');
    expect(d?.recommendedActions).toEqual([]);
    expect(d?.explanation).toMatch(
      /Requests to shop\/catalog rose 4\.0× \(50\.0\/s → 200\.0\/s\) and its CPU rose with them while nothing failed: load, not a fault/,
    );
    expect(d?.evidence).toContainEqual(
      expect.objectContaining({
        object: { kind: 'Service', namespace: 'shop', name: 'catalog' },
        value: 200,
        baseline: 50,
      }),
    );
  });

  it('is a hog without a surge, without request metrics, or when CPU outgrows the requests', () => {
    expect(
      run([{ namespace: 'shop', service: 'catalog', before: 50, since: 60 }])?.candidates[0]?.faultClass,
    ).toBe('pod-cpu-hog');
    expect(run(undefined)?.candidates[0]?.faultClass).toBe('pod-cpu-hog');
    // Another Service's surge says nothing of catalog's.
    expect(
      run([{ namespace: 'shop', service: 'cart', before: 50, since: 200 }])?.candidates[0]?.faultClass,
    ).toBe('pod-cpu-hog');
    // 10× the CPU for 4× the requests: a runaway during the surge.
    const runaway = { ...busy, value: 1.0 };
    const d = run(fourfold, [runaway]);
    expect(d?.candidates[0]?.faultClass).toBe('pod-cpu-hog');
    expect(d?.recommendedActions.map((a) => a.type)).toContain('restartPod');
  });

  it('without request rates, CPU doubling within the request is load too, and says so', () => {
    const within = { ...busy, value: 0.08, baseline: { level: 0.04, spread: 0.004 } };
    const d = run(undefined, [within]);
    expect(d?.candidates[0]?.faultClass).toBe('benign');
    expect(d?.explanation).toMatch(/Its pods' CPU rose within what they request while nothing failed: load/);
    // Its request its limit (Guaranteed QoS): at 95m of 100m it is throttled, a hog.
    const throttled = { ...within, value: 0.095 };
    expect(run(undefined, [throttled], '100m')?.candidates[0]?.faultClass).toBe('pod-cpu-hog');
    expect(run(undefined, [within], '100m')?.candidates[0]?.faultClass).toBe('benign');
  });

  it('overloaded (its service failing) under more requests: replicas are added, pods not restarted', () => {
    const d = run(fourfold, [busy, errors]);
    expect(d?.candidates[0]?.faultClass).toBe('pod-cpu-hog');
    expect(d?.explanation).toMatch(
      /Requests to shop\/catalog rose 4\.0×.*: more requests, not a runaway pod/,
    );
    expect(d?.recommendedActions.map((a) => a.type)).toEqual(['scaleWorkload', 'notify']);
  });
});

describe('diagnose: nothing behind the abnormal Service', () => {
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app' }] } };
  /** A Service `web` without pods, and the DaemonSets given; its error ratio abnormal. */
  const run = (daemonSets: ClusterSnapshot['daemonSets'], changes: Change[] = []) => {
    const snapshot: ClusterSnapshot = {
      deployments: [],
      replicaSets: [],
      pods: [],
      nodes: [{ metadata: { name: 'n1' } }],
      services: [{ metadata: { name: 'web', namespace: 'shop' }, spec: { selector: { app: 'web' } } }],
      configMaps: [],
      statefulSets: [],
      daemonSets,
      hpas: [],
    };
    const errors = {
      ...metric('http_error_ratio'),
      entity: { kind: 'Service', namespace: 'shop', name: 'web' },
    };
    return diagnoseIn(snapshot, [errors], changes);
  };
  const daemonSet = (status?: Record<string, unknown>) => ({
    metadata: { name: 'web', namespace: 'shop', uid: 'ds1' },
    spec: { template },
    ...(status ? { status } : {}),
  });

  it('names the Service itself, class unknown, and tells a human (a Service selecting no pods)', () => {
    const d = run([]);
    expect(d?.candidates[0]).toMatchObject({
      object: { kind: 'Service', namespace: 'shop', name: 'web' },
      faultClass: 'unknown',
    });
    expect(d?.recommendedActions.map((a) => a.type)).toEqual(['notify']);
  });

  it('links a Service without pods to the DaemonSet whose template it selects (its rollout left it none)', () => {
    expect(run([daemonSet()])?.candidates[0]?.object).toMatchObject({
      kind: 'DaemonSet',
      namespace: 'shop',
      name: 'web',
    });
    // Its rollout's template fits no node (the controller wants 0 pods; Kubernetes reports no
    // FailedScheduling for it): a placement constraint, rolled back.
    const rollout: Change = {
      object: 'DaemonSet/shop/web',
      at: Date.UTC(2026, 0, 1) - 60_000,
      kind: 'rollout',
      description: 'rollout',
    };
    const none = run([daemonSet({ desiredNumberScheduled: 0 })], [rollout]);
    expect(none?.candidates[0]?.faultClass).toBe('scheduling-constraint');
    expect(none?.recommendedActions.map((a) => a.type)).toEqual(['rollbackDeployment']);
    expect(run([daemonSet({ desiredNumberScheduled: 3 })], [rollout])?.candidates[0]?.faultClass).toBe(
      'bad-rollout',
    );
  });
});
