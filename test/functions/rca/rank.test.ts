import { describe, expect, it } from 'vitest';
import type { AnomalyData } from '../../../shared/contracts/index.js';
import { rolloutChanges, type Change } from '../../../functions/rca/changes.js';
import { causalPath, rankCauses } from '../../../functions/rca/rank.js';
import { configTakesEffect } from '../../../functions/rca/diagnose.js';
import { assignAnomaly, type IncidentBook } from '../../../functions/rca/grouping.js';
import {
  buildTopology,
  keyOf,
  workloadOf,
  type ClusterSnapshot,
  type ObjectView,
} from '../../../functions/rca/topology.js';

const T0 = Date.UTC(2026, 0, 1, 12);
const iso = (m: number) => new Date(T0 + m * 60_000).toISOString();

function deployment(name: string, dependsOn: string[] = []): ObjectView {
  return {
    metadata: {
      name,
      namespace: 'shop',
      uid: `d-${name}`,
      labels: { app: name },
      annotations: dependsOn.length ? { 'kurative.dev/depends-on': dependsOn.join(',') } : {},
    },
    spec: { selector: { matchLabels: { app: name } } },
  };
}
function replicaSet(name: string, revision: number, createdMin: number, image: string): ObjectView {
  return {
    metadata: {
      name: `${name}-r${revision}`,
      namespace: 'shop',
      uid: `rs-${name}-${revision}`,
      labels: { app: name },
      annotations: { 'deployment.kubernetes.io/revision': String(revision) },
      ownerReferences: [{ kind: 'Deployment', name, uid: `d-${name}`, controller: true }],
      creationTimestamp: iso(createdMin),
    },
    spec: { template: { spec: { containers: [{ name: 'app', image }] } } },
  };
}
function pod(name: string, rs: string, node: string, configMap?: string): ObjectView {
  return {
    metadata: {
      name,
      namespace: 'shop',
      uid: `p-${name}`,
      labels: { app: rs.split('-r')[0] ?? '' },
      ownerReferences: [
        { kind: 'ReplicaSet', name: rs, uid: `rs-${rs.replace('-r', '-')}`, controller: true },
      ],
    },
    spec: {
      nodeName: node,
      containers: [
        { name: 'app', ...(configMap ? { envFrom: [{ configMapRef: { name: configMap } }] } : {}) },
      ],
    },
  };
}
const service = (name: string): ObjectView => ({
  metadata: { name, namespace: 'shop' },
  spec: { selector: { app: name } },
});

/** frontend → checkout → payment (reads payment-config); two nodes. */
function shop(extra: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  return {
    deployments: [
      deployment('frontend', ['checkout']),
      deployment('checkout', ['payment']),
      deployment('payment'),
    ],
    replicaSets: [
      replicaSet('frontend', 1, -600, 'fe:1'),
      replicaSet('checkout', 1, -600, 'co:1'),
      replicaSet('payment', 1, -600, 'pay:1'),
    ],
    pods: [
      pod('fe-a', 'frontend-r1', 'n1'),
      pod('fe-b', 'frontend-r1', 'n2'),
      pod('co-a', 'checkout-r1', 'n1'),
      pod('co-b', 'checkout-r1', 'n2'),
      pod('pay-a', 'payment-r1', 'n1', 'payment-config'),
      pod('pay-b', 'payment-r1', 'n2', 'payment-config'),
    ],
    services: [service('frontend'), service('checkout'), service('payment')],
    nodes: [{ metadata: { name: 'n1', uid: 'n1' } }, { metadata: { name: 'n2', uid: 'n2' } }],
    configMaps: [{ metadata: { name: 'payment-config', namespace: 'shop' } }],
    secrets: [],
    statefulSets: [],
    daemonSets: [],
    hpas: [],
    ...extra,
  };
}

function anomaly(kind: string, name: string, a: Partial<AnomalyData> = {}): AnomalyData {
  return {
    anomalyId: `${kind}-${name}-${a.signal ?? 'x'}`,
    entity: { kind, name, ...(kind === 'Node' ? {} : { namespace: 'shop' }) },
    signal: 'k8s:CrashLoopBackOff',
    kind: 'symptom',
    detector: 't',
    score: 1,
    threshold: 1,
    severity: 'critical',
    onset: iso(0),
    observedAt: iso(1),
    ...a,
  };
}

describe('topology', () => {
  it('links owners, hosts, config, services and declared dependencies', () => {
    const t = buildTopology(shop());
    const rel = (from: string, to: string) => t.edges.find((e) => e.from === from && e.to === to)?.relation;
    expect(rel('Deployment/shop/payment', 'ReplicaSet/shop/payment-r1')).toBe('owns');
    expect(rel('ReplicaSet/shop/payment-r1', 'Pod/shop/pay-a')).toBe('owns');
    expect(rel('Node//n1', 'Pod/shop/pay-a')).toBe('hosts');
    expect(rel('ConfigMap/shop/payment-config', 'Pod/shop/pay-a')).toBe('configures');
    expect(rel('Pod/shop/pay-a', 'Service/shop/payment')).toBe('serves');
    expect(rel('Service/shop/payment', 'Deployment/shop/checkout')).toBe('calls');
    expect(workloadOf(t, 'Pod/shop/pay-b')).toBe('Deployment/shop/payment');
  });

  it('links the claims a pod mounts to it, known from the pod alone', () => {
    const mounted = pod('pay-c', 'payment-r1', 'n1');
    const t = buildTopology(
      shop({
        pods: [
          {
            ...mounted,
            spec: { ...mounted.spec, volumes: [{ persistentVolumeClaim: { claimName: 'pay-data' } }] },
          },
        ],
      }),
    );
    expect(t.nodes.get('PersistentVolumeClaim/shop/pay-data')).toEqual({
      kind: 'PersistentVolumeClaim',
      namespace: 'shop',
      name: 'pay-data',
    });
    expect(t.edges.find((e) => e.to === 'Pod/shop/pay-c' && e.relation === 'stores')?.from).toBe(
      'PersistentVolumeClaim/shop/pay-data',
    );
  });

  it('finds the causal path from a cause to a symptom', () => {
    const t = buildTopology(shop());
    expect(causalPath(t, 'Deployment/shop/payment', 'Deployment/shop/frontend')).toEqual([
      'Deployment/shop/payment',
      'ReplicaSet/shop/payment-r1',
      'Pod/shop/pay-a',
      'Service/shop/payment',
      'Deployment/shop/checkout',
      'ReplicaSet/shop/checkout-r1',
      'Pod/shop/co-a',
      'Service/shop/checkout',
      'Deployment/shop/frontend',
    ]);
  });
});

describe('rankCauses', () => {
  const cases: {
    name: string;
    snapshot: ClusterSnapshot;
    anomalies: AnomalyData[];
    changes?: Change[];
    expected: string;
  }[] = [
    {
      name: 'node fault: pods of many workloads on one node fail, and the node is NotReady',
      snapshot: shop(),
      anomalies: [
        anomaly('Node', 'n1', { signal: 'k8s:NodeNotReady' }),
        anomaly('Pod', 'fe-a'),
        anomaly('Pod', 'co-a'),
        anomaly('Pod', 'pay-a'),
      ],
      expected: 'Node//n1',
    },
    {
      name: 'volume fault: the claim payment mounts is predicted full, then its pods crash-loop',
      snapshot: shop({
        pods: shop().pods.map((p) =>
          p.metadata?.name?.startsWith('pay-')
            ? { ...p, spec: { ...p.spec, volumes: [{ persistentVolumeClaim: { claimName: 'pay-data' } }] } }
            : p,
        ),
      }),
      anomalies: [
        anomaly('PersistentVolumeClaim', 'pay-data', {
          kind: 'forecast',
          signal: 'kubelet_volume_stats_used_bytes',
        }),
        anomaly('Pod', 'pay-a'),
        anomaly('Pod', 'pay-b'),
      ],
      expected: 'PersistentVolumeClaim/shop/pay-data',
    },
    {
      name: 'noisy neighbour: a batch pod fills n1 with CPU, and the services with pods on n1 err',
      snapshot: shop({
        deployments: [...shop().deployments, deployment('batch')],
        replicaSets: [...shop().replicaSets, replicaSet('batch', 1, -600, 'batch:1')],
        pods: [...shop().pods, pod('batch-a', 'batch-r1', 'n1')],
      }),
      anomalies: [
        ...['frontend', 'checkout', 'payment'].map((name) =>
          anomaly('Service', name, {
            kind: 'deviation',
            signal: 'http_error_ratio',
            severity: 'warning',
            score: 1,
          }),
        ),
        anomaly('Node', 'n1', { kind: 'deviation', signal: 'node_cpu_usage_cores', score: 1 }),
        anomaly('Pod', 'batch-a', { kind: 'deviation', signal: 'cpu_usage_cores', score: 1 }),
      ],
      expected: 'Deployment/shop/batch',
    },
    {
      name: 'workload fault: every pod of one deployment crash-loops on both nodes',
      snapshot: shop(),
      anomalies: [anomaly('Pod', 'co-a'), anomaly('Pod', 'co-b')],
      expected: 'Deployment/shop/checkout',
    },
    {
      name: 'upstream fault: payment is slow, callers show errors',
      snapshot: shop(),
      anomalies: [
        anomaly('Pod', 'pay-a', { kind: 'deviation', signal: 'latency', severity: 'warning', score: 0.99 }),
        anomaly('Pod', 'pay-b', { kind: 'deviation', signal: 'latency', severity: 'warning', score: 0.99 }),
        anomaly('Pod', 'co-a', { kind: 'deviation', signal: 'errors', severity: 'warning', score: 0.9 }),
        anomaly('Pod', 'fe-a', { kind: 'deviation', signal: 'errors', severity: 'warning', score: 0.9 }),
      ],
      expected: 'Deployment/shop/payment',
    },
    {
      name: 'config change: payment-config edited just before payment pods crash',
      snapshot: shop(),
      anomalies: [anomaly('Pod', 'pay-a'), anomaly('Pod', 'pay-b')],
      changes: [
        {
          object: 'ConfigMap/shop/payment-config',
          at: T0 - 2 * 60_000,
          kind: 'config',
          description: 'PAYMENT_TIMEOUT changed',
        },
      ],
      expected: 'ConfigMap/shop/payment-config',
    },
    {
      name: 'bad rollout: a new revision of checkout right before its pods fail',
      snapshot: shop({
        replicaSets: [...shop().replicaSets, replicaSet('checkout', 2, -3, 'co:2')],
        pods: [
          ...shop().pods.filter((p) => !p.metadata?.name?.startsWith('co')),
          pod('co-c', 'checkout-r2', 'n1'),
        ],
      }),
      anomalies: [
        anomaly('Pod', 'co-c'),
        anomaly('Pod', 'fe-a', { kind: 'deviation', signal: 'errors', severity: 'warning', score: 0.9 }),
      ],
      expected: 'Deployment/shop/checkout',
    },
  ];

  it.each(cases)('$name → $expected', ({ snapshot, anomalies, changes, expected }) => {
    const topology = buildTopology(snapshot);
    const ranked = rankCauses(topology, anomalies, [...rolloutChanges(snapshot), ...(changes ?? [])], T0);
    expect(ranked[0]?.key).toBe(expected);
  });

  it('reads a revision kurative made for an incident (a resize) as its remediation, not a rollout', () => {
    const resized = replicaSet('checkout', 2, -3, 'co:1');
    const template = (resized.spec as { template: { metadata?: object } }).template;
    template.metadata = { annotations: { 'kurative.dev/remediated-for': 'inc-1' } };
    const snapshot = shop({ replicaSets: [...shop().replicaSets, resized] });
    expect(rolloutChanges(snapshot)).toEqual([
      {
        object: 'Deployment/shop/checkout',
        at: T0 - 3 * 60_000,
        kind: 'remediation',
        description: "kurative's remediation of inc-1 (revision 2)",
      },
    ]);
  });

  it('reads rollouts from ReplicaSet revisions with what changed', () => {
    const snapshot = shop({ replicaSets: [...shop().replicaSets, replicaSet('checkout', 2, -3, 'co:2')] });
    expect(rolloutChanges(snapshot)).toEqual([
      {
        object: 'Deployment/shop/checkout',
        at: T0 - 3 * 60_000,
        kind: 'rollout',
        description: 'rollout to revision 2: images app=co:1 → app=co:2',
      },
    ]);
  });

  it("reads a StatefulSet's and a DaemonSet's rollouts from their ControllerRevisions", () => {
    const revision = (kind: string, owner: string, n: number, minutes: number, image: string) => ({
      metadata: {
        name: `${owner}-r${n}`,
        namespace: 'shop',
        creationTimestamp: new Date(T0 + minutes * 60_000).toISOString(),
        ownerReferences: [{ kind, name: owner, controller: true }],
      },
      revision: n,
      data: {
        spec: {
          template: {
            $patch: 'replace',
            metadata: { labels: { app: owner } },
            spec: { containers: [{ name: 'app', image }] },
          },
        },
      },
    });
    const snapshot = shop({
      controllerRevisions: [
        revision('StatefulSet', 'sessions', 1, -120, 'sessions:7.0'),
        revision('StatefulSet', 'sessions', 2, -4, 'sessions:7.2'),
        revision('DaemonSet', 'agent', 1, -120, 'agent:1'),
        // Same template again (a restart annotation aside): a restart, not a rollout.
        {
          ...revision('DaemonSet', 'agent', 2, -2, 'agent:1'),
          data: {
            spec: {
              template: {
                metadata: {
                  labels: { app: 'agent' },
                  annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' },
                },
                spec: { containers: [{ name: 'app', image: 'agent:1' }] },
              },
            },
          },
        },
      ],
    });
    expect(rolloutChanges(snapshot)).toEqual([
      {
        object: 'StatefulSet/shop/sessions',
        at: T0 - 4 * 60_000,
        kind: 'rollout',
        description: 'rollout to revision 2: images app=sessions:7.0 → app=sessions:7.2',
      },
      {
        object: 'DaemonSet/shop/agent',
        at: T0 - 2 * 60_000,
        kind: 'restart',
        description: 'restart (revision 2): same pod template, pods recreated',
      },
    ]);
  });

  it('ignores changes made after the onset', () => {
    const topology = buildTopology(shop());
    const later: Change[] = [
      { object: 'ConfigMap/shop/payment-config', at: T0 + 30 * 60_000, kind: 'config', description: 'later' },
    ];
    const ranked = rankCauses(topology, [anomaly('Pod', 'pay-a'), anomaly('Pod', 'pay-b')], later, T0);
    expect(ranked[0]?.key).toBe('Deployment/shop/payment');
    expect(
      ranked.find((r) => r.key === keyOf({ kind: 'ConfigMap', namespace: 'shop', name: 'payment-config' }))
        ?.change,
    ).toBeUndefined();
  });
});

describe('a config change takes effect when a pod reading it starts', () => {
  const edit: Change = {
    object: 'ConfigMap/shop/payment-config',
    at: T0 - 40 * 60_000,
    kind: 'config',
    description: 'ConfigMap data changed (aaaaaaa → bbbbbbb)',
  };
  // pay-b was deleted 2 minutes before the onset and came back with the edited config.
  const restarted = (createdMin: number) =>
    shop({
      pods: shop().pods.map((p) =>
        p.metadata?.name === 'pay-b'
          ? { ...p, metadata: { ...p.metadata, creationTimestamp: iso(createdMin) } }
          : { ...p, metadata: { ...p.metadata, creationTimestamp: iso(-600) } },
      ),
    });
  const rank = (snapshot: ClusterSnapshot, changes: readonly Change[]) => {
    const topology = buildTopology(snapshot);
    const anomalies = [anomaly('Pod', 'pay-b')];
    return rankCauses(topology, anomalies, configTakesEffect(changes, topology, snapshot, anomalies), T0);
  };

  it('an edit long before the onset is the cause when the failing pod started after it', () => {
    const ranked = rank(restarted(-2), [edit]);
    expect(ranked[0]?.key).toBe('ConfigMap/shop/payment-config');
    expect(ranked[0]?.change).toMatchObject({ at: edit.at, effectiveAt: T0 - 2 * 60_000 });
  });

  it('is not when the failing pod started before it', () => {
    const ranked = rank(restarted(-50), [edit]);
    expect(ranked[0]?.key).toBe('Deployment/shop/payment');
    expect(ranked.find((r) => r.key === edit.object)?.change?.effectiveAt).toBeUndefined();
  });

  it('a ConfigMap that is gone is still a node, so its deletion can be the cause', () => {
    const snapshot = { ...restarted(-2), configMaps: [] };
    const deleted: Change = { ...edit, at: T0 - 3 * 60_000, description: 'ConfigMap deleted' };
    const ranked = rank(snapshot, [deleted]);
    expect(ranked[0]).toMatchObject({ key: 'ConfigMap/shop/payment-config', change: deleted });
  });
});

describe('a service whose workload has no pods', () => {
  it('is served by the workload its selector picks from the pod template', () => {
    const base = shop();
    const templated = base.deployments.map((d) => ({
      ...d,
      spec: { ...(d.spec as object), template: { metadata: { labels: { app: d.metadata?.name ?? '' } } } },
    }));
    const t = buildTopology({
      ...base,
      deployments: templated,
      pods: base.pods.filter((p) => !p.metadata?.name?.startsWith('pay-')),
    });
    expect(
      t.edges.filter((e) => e.to === 'Service/shop/payment').map((e) => `${e.from} ${e.relation}`),
    ).toEqual(['Deployment/shop/payment serves']);
    // Services whose pods run keep their pod edges only.
    expect(
      t.edges.filter((e) => e.to === 'Service/shop/checkout').every((e) => e.from.startsWith('Pod/')),
    ).toBe(true);
    const errors = anomaly('Service', 'payment', { signal: 'http_error_ratio', kind: 'deviation' });
    expect(rankCauses(t, [errors], [], T0)[0]?.key).toBe('Deployment/shop/payment');
  });
});

describe('observed calls', () => {
  it('adds call edges seen in traffic metrics, once, and only between known objects', () => {
    const base = shop();
    const plain = buildTopology({
      ...base,
      deployments: base.deployments.map((d) => ({ ...d, metadata: { ...d.metadata, annotations: {} } })),
    });
    expect(plain.edges.filter((e) => e.relation === 'calls')).toEqual([]);
    const observed = buildTopology({
      ...base,
      deployments: base.deployments.map((d) => ({ ...d, metadata: { ...d.metadata, annotations: {} } })),
      calls: [
        { namespace: 'shop', caller: 'checkout', calleeNamespace: 'shop', callee: 'payment' },
        { namespace: 'shop', caller: 'checkout', calleeNamespace: 'shop', callee: 'payment' },
        { namespace: 'shop', caller: 'ghost', calleeNamespace: 'shop', callee: 'payment' },
      ],
    });
    expect(observed.edges.filter((e) => e.relation === 'calls').map((e) => `${e.from}>${e.to}`)).toEqual([
      'Service/shop/payment>Deployment/shop/checkout',
    ]);
  });
});

describe('grouping a node with the pods it hosts', () => {
  const cpu = (kind: string, name: string, minute: number) =>
    anomaly(kind, name, {
      signal: kind === 'Node' ? 'node_cpu_usage_cores' : 'cpu_usage_cores',
      kind: 'deviation',
      onset: iso(minute),
      observedAt: iso(minute),
    });
  const withOther = () =>
    buildTopology(
      shop({
        deployments: [...shop().deployments, deployment('other')],
        replicaSets: [...shop().replicaSets, replicaSet('other', 1, -600, 'o:1')],
        pods: [...shop().pods, pod('other-a', 'other-r1', 'n3')],
        nodes: [...shop().nodes, { metadata: { name: 'n3', uid: 'n3' } }],
      }),
    );

  it('joins a node anomaly to the incident of a workload that has a pod on it, in either order', () => {
    const t = withOther();
    const book: IncidentBook = { incidents: [] };
    const first = assignAnomaly(book, t, cpu('Pod', 'co-b', 5), T0 + 5 * 60_000);
    expect(first.created).toBe(true);
    // n1 hosts co-a, another checkout pod whose own anomaly has not arrived yet.
    const node = assignAnomaly(book, t, cpu('Node', 'n1', 6), T0 + 6 * 60_000);
    expect(node).toMatchObject({ created: false, incident: { id: first.incident.id } });
    // The incident grew by the node, not by every workload the node hosts.
    expect(first.incident.keys).toContain('Node//n1');
    expect(first.incident.keys).not.toContain('Deployment/shop/frontend');
    expect(assignAnomaly(book, t, cpu('Pod', 'co-a', 6), T0 + 6 * 60_000).created).toBe(false);
    expect(book.incidents).toHaveLength(1);
  });

  it('groups the same deviation beginning at once on unconnected workloads, not one that begins later', () => {
    const t = withOther();
    const book: IncidentBook = { incidents: [] };
    const first = assignAnomaly(book, t, cpu('Pod', 'co-b', 5), T0 + 5 * 60_000);
    // `other` shares no node, call or config with checkout: only the common onset joins them.
    expect(assignAnomaly(book, t, cpu('Pod', 'other-a', 6), T0 + 6 * 60_000).incident.id).toBe(
      first.incident.id,
    );
    // Each anomaly joined raises the incident's revision (it orders the incident's diagnoses).
    expect(first.incident.seq).toBe(2);
    // Beginning 4 minutes later: its own incident.
    const apart: IncidentBook = { incidents: [] };
    assignAnomaly(apart, t, cpu('Pod', 'co-b', 5), T0 + 5 * 60_000);
    const later = assignAnomaly(apart, t, cpu('Pod', 'other-a', 9), T0 + 9 * 60_000);
    expect([later.created, later.incident.seq]).toEqual([true, 1]);
    // A symptom has no onset in common with anything: it joins through the topology only.
    const fresh: IncidentBook = { incidents: [] };
    assignAnomaly(fresh, t, cpu('Pod', 'co-b', 5), T0 + 5 * 60_000);
    const crash = anomaly('Pod', 'other-a', { onset: iso(5), observedAt: iso(5) });
    expect(assignAnomaly(fresh, t, crash, T0 + 5 * 60_000).created).toBe(true);
  });

  it('opens a separate incident for a node that hosts none of the incident’s workloads', () => {
    const t = withOther();
    const book: IncidentBook = { incidents: [] };
    assignAnomaly(book, t, cpu('Pod', 'co-b', 5), T0 + 5 * 60_000);
    expect(assignAnomaly(book, t, cpu('Node', 'n3', 6), T0 + 6 * 60_000).created).toBe(true);
    expect(book.incidents).toHaveLength(2);
  });
});
