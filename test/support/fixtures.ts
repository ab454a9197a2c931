import { EVENT_TYPES, type EventData, type EventType } from '../../shared/contracts/index.js';

const at = '2026-01-01T00:00:00.000Z';
const pod = { kind: 'Pod', namespace: 'shop', name: 'cart-7d9f-abcde' };
const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'cart' };

/** One valid `data` value for every event type (used by round-trip and broker tests). */
export const VALID_DATA: { [K in EventType]: EventData<K> } = {
  [EVENT_TYPES.metrics]: {
    scrapeId: 's-1',
    scrapedAt: at,
    source: 'metrics.k8s.io',
    batch: { index: 0, count: 1 },
    samples: [
      {
        entity: { ...pod, container: 'server' },
        signal: 'memory_working_set_bytes',
        value: 1.5e8,
        unit: 'bytes',
        at,
        limit: 2.5e8,
      },
    ],
  },
  [EVENT_TYPES.anomaly]: {
    anomalyId: 'a-1',
    entity: pod,
    signal: 'memory_working_set_bytes',
    kind: 'forecast',
    detector: 'memory-leak',
    score: 0.93,
    threshold: 0.8,
    severity: 'critical',
    value: 2.1e8,
    baseline: { level: 1.2e8, spread: 4e6 },
    onset: at,
    observedAt: at,
    forecast: { limit: 2.5e8, predictedAt: '2026-01-01T00:20:00.000Z', secondsToLimit: 1200 },
  },
  [EVENT_TYPES.diagnosis]: {
    incidentId: 'inc-1',
    diagnosedAt: at,
    severity: 'critical',
    candidates: [{ object: deployment, faultClass: 'pod-memory-hog', confidence: 0.9, score: 0.7 }],
    causalPath: [{ from: deployment, to: pod, relation: 'owns', evidence: [0] }],
    evidence: [
      {
        object: pod,
        kind: 'metric',
        at,
        description: 'memory grows 2 MiB/min',
        value: 2.1e8,
        baseline: 1.2e8,
      },
    ],
    explanation: 'cart leaks memory and will be OOM-killed in 20 minutes.',
    recommendedActions: [
      { type: 'adjustResources', target: deployment, params: { memoryFactor: 1.5 }, reason: 'buy time' },
    ],
    anomalyIds: ['a-1'],
  },
  [EVENT_TYPES.decision]: {
    incidentId: 'inc-1',
    decisionId: 'd-1',
    decidedAt: at,
    mode: 'enforce',
    verdict: 'approved',
    action: { type: 'restartPod', target: pod, params: {}, reason: 'memory leak' },
    rule: { policy: 'default', name: 'allow-restart', reason: 'restartPod allowed in shop' },
    dryRun: false,
    step: 0,
  },
  [EVENT_TYPES.remediation]: {
    incidentId: 'inc-1',
    decisionId: 'd-1',
    action: { type: 'restartPod', target: pod, params: {}, reason: 'memory leak' },
    status: 'succeeded',
    at,
    message: 'evicted',
    dryRun: false,
    changes: ['pod shop/cart-7d9f-abcde evicted'],
  },
  [EVENT_TYPES.ping]: { tick: true },
  [EVENT_TYPES.tick]: { at, openIncidents: 1 },
  [EVENT_TYPES.apiServerAdd]: {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'e1', namespace: 'shop' },
    reason: 'OOMKilling',
  },
  [EVENT_TYPES.apiServerUpdate]: {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'shop' },
  },
  [EVENT_TYPES.apiServerDelete]: {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'shop' },
  },
};
