import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type { Config } from '../../shared/config/index.js';
import {
  EVENT_TYPES,
  KURATIVE_GROUP,
  KURATIVE_VERSION,
  KURATIVE_API_VERSION,
  type DiagnosisData,
  type IncidentStatus,
  type ObjectRef,
} from '../../shared/contracts/index.js';
import {
  apiFailure,
  createKubeClients,
  loadKubeConfig,
  statusOf,
  type KubeClients,
} from '../../shared/kube/index.js';
import type { Logger } from '../../shared/log/index.js';
import { defineFunction, type InboundOf } from '../../shared/runtime/index.js';
import { describeRef as describe, getIncident, recordKubeEvent } from '../../shared/kube/incidents.js';
import { jsonLists, type JsonListOptions } from '../../shared/kube/json-pages.js';
import { clusterAndStore, updateMany, withStore, type BaselineStore } from '../../shared/store/index.js';
import { rolloutChanges, type Change } from './changes.js';
import { readDemand } from './demand.js';
import { diagnose, incidentOnset } from './diagnose.js';
import { assignAnomaly, type IncidentBook, type OpenIncident } from './grouping.js';
import { queryInstant } from '../../shared/prometheus/index.js';
import {
  buildTopology,
  keyOf,
  type ClusterSnapshot,
  type ObjectView,
  type ObservedCall,
  type PodMetricsView,
  type RevisionView,
  type Topology,
} from './topology.js';

export interface RcaDeps extends JsonListOptions {
  readonly store: BaselineStore;
  readonly kube: KubeClients;
  /**
   * Prometheus to read observed calls (service-mesh request metrics) and Services' request rates
   * from, when configured.
   */
  readonly prometheusUrl?: string;
  /** PromQL for each Service's request rate (see Config.demandQuery); read only with prometheusUrl. */
  readonly demandQuery?: string;
  readonly now?: () => number;
}

/** Istio's request metric: who calls which service. */
const CALLS_QUERY = 'istio_requests_total';

const BOOK_KEY = 'rca|incidents';
const CHANGES_KEY = 'rca|changes';
const CHANGE_HISTORY_MS = 6 * 3_600_000;

type Accepted =
  typeof EVENT_TYPES.anomaly | typeof EVENT_TYPES.apiServerUpdate | typeof EVENT_TYPES.apiServerDelete;

/** rca: group anomalies into incidents, find each incident's root cause, keep the Incident current. */
export const definition = defineFunction<RcaDeps, Accepted>({
  name: 'rca',
  accepts: [EVENT_TYPES.anomaly, EVENT_TYPES.apiServerUpdate, EVENT_TYPES.apiServerDelete],
  handle: async (event, { deps, log }) => {
    if (event.type === EVENT_TYPES.apiServerUpdate || event.type === EVENT_TYPES.apiServerDelete) {
      await recordChange(event, deps);
      return undefined;
    }
    const anomaly = event.data;
    const now = deps.now?.() ?? (Date.parse(anomaly.observedAt) || Date.now());
    const { snapshot, topology, rollouts } = await sharedClusterRead(deps, log);
    let incident: OpenIncident | undefined;
    let created = false;
    let duplicate = false;
    await withStore(() =>
      updateMany<IncidentBook>(deps.store, [BOOK_KEY], (_key, current) => {
        const book = structuredClone(current ?? { incidents: [] });
        ({ incident, created, duplicate } = assignAnomaly(book, topology, anomaly, now));
        return book;
      }),
    );
    const open = incident;
    if (!open || duplicate) return undefined;
    const changes = [...rollouts, ...(await loadChanges(deps.store))];
    const onset = incidentOnset(open.anomalies);
    const demand =
      deps.prometheusUrl && deps.demandQuery && Number.isFinite(onset)
        ? await readDemand(deps.prometheusUrl, deps.demandQuery, onset, now, log)
        : [];
    const result = diagnose({
      incidentId: open.id,
      topology,
      snapshot: { ...snapshot, demand },
      anomalies: open.anomalies,
      changes,
      now,
      ...(open.seq === undefined ? {} : { sequence: open.seq }),
    });
    if (!result) return undefined;
    await writeIncident(deps.kube, open, result.diagnosis, created, log);
    const root = result.diagnosis.candidates[0]?.object;
    if (root && keyOf(root) !== open.root) {
      await rememberRoot(deps.store, open.id, keyOf(root));
      await recordEvent(deps.kube, root, result.diagnosis, log);
    }
    return { type: EVENT_TYPES.diagnosis, data: result.diagnosis, incidentId: open.id };
  },
});

/** Await every promise of a record at once; the record of their values. */
async function settleAll<T extends Record<string, Promise<unknown>>>(
  promises: T,
): Promise<{ [K in keyof T]: Awaited<T[K]> }> {
  const keys = Object.keys(promises);
  const values = await Promise.all(Object.values(promises));
  return Object.fromEntries(keys.map((k, i) => [k, values[i]])) as { [K in keyof T]: Awaited<T[K]> };
}

/** What a diagnosis reads of the cluster, and what is worked out of it alone. */
interface ClusterRead {
  readonly snapshot: ClusterSnapshot & { readonly calls: readonly ObservedCall[] };
  readonly topology: Topology;
  /** The rollouts the workloads' revisions show. */
  readonly rollouts: readonly Change[];
}

/** The cluster read under way, by the clients it is read with; gone once done (or failed). */
const readingCluster = new WeakMap<KubeClients, Promise<ClusterRead>>();

/**
 * The cluster as a diagnosis sees it, one read (and one topology) shared by the events that arrive
 * while it is being read: an incident's anomalies come in a burst (one scrape's), up to the chart's
 * containerConcurrency (20) at once on an instance. Measured 2026-11-29 on a 10 000-pod cluster
 * with the chart's flags, 20 at once: each reading and building it for itself ran out of heap;
 * sharing the read only took 7.3 s and peaked at 278 MB; sharing the topology too, 2.9 s and 216 MB
 * (lists as client-node's models; as JSON since, 2.4–2.6 s and 180–195 MB). A read once done is not reused: an event arriving later reads
 * the cluster as it is then. Readers must not modify what they share.
 */
function sharedClusterRead(deps: RcaDeps, log: Logger): Promise<ClusterRead> {
  const reading = readingCluster.get(deps.kube);
  if (reading) return reading;
  const read = readClusterRead(deps, log).finally(() => {
    if (readingCluster.get(deps.kube) === read) readingCluster.delete(deps.kube);
  });
  readingCluster.set(deps.kube, read);
  return read;
}

async function readClusterRead(deps: RcaDeps, log: Logger): Promise<ClusterRead> {
  const snapshot = {
    ...(await readSnapshot(deps, log)),
    calls: deps.prometheusUrl ? await readCalls(deps.prometheusUrl, log) : [],
  };
  return { snapshot, topology: buildTopology(snapshot), rollouts: rolloutChanges(snapshot) };
}

/** Everything the topology needs, read at diagnosis time. */
async function readSnapshot(deps: RcaDeps, log: Logger): Promise<ClusterSnapshot> {
  const { kube } = deps;
  // A page at a time, as the API server's JSON (`jsonLists`; the views fit it as they fit
  // client-node's models). One anomaly on 10 000 pods with the chart's flags: as paged models
  // 2.4–2.5 s (CPU 2.6 s), peak 194–197 MB; as paged JSON 1.7–1.8 s (CPU 1.5–1.6 s), 164–165 MB.
  const list = jsonLists(kube.kubeConfig, deps);
  const items = (path: string) => list(path, (o) => o as ObjectView);
  try {
    return await settleAll({
      pods: items('/api/v1/pods'),
      replicaSets: items('/apis/apps/v1/replicasets'),
      controllerRevisions: list('/apis/apps/v1/controllerrevisions', (o) => o as RevisionView),
      deployments: items('/apis/apps/v1/deployments'),
      statefulSets: items('/apis/apps/v1/statefulsets'),
      daemonSets: items('/apis/apps/v1/daemonsets'),
      services: items('/api/v1/services'),
      nodes: items('/api/v1/nodes'),
      // Only their names count in the topology (config changes come from the ApiServerSource); a
      // ConfigMap's data, up to 1 MiB each, is not kept.
      configMaps: list('/api/v1/configmaps', (c): ObjectView => ({
        metadata: identityOf((c as ObjectView).metadata),
      })),
      hpas: items('/apis/autoscaling/v2/horizontalpodautoscalers'),
      podMetrics: readPodMetrics(kube, log),
    });
  } catch (error) {
    throw apiFailure('reading the topology', error);
  }
}

/** An object's name, namespace and uid: all the topology reads of some kinds. */
function identityOf(
  m: { name?: string; namespace?: string; uid?: string } | undefined,
): ObjectView['metadata'] {
  return {
    ...(m?.name !== undefined ? { name: m.name } : {}),
    ...(m?.namespace !== undefined ? { namespace: m.namespace } : {}),
    ...(m?.uid !== undefined ? { uid: m.uid } : {}),
  };
}

/**
 * Pods' current CPU and memory use (whether a workload runs at its CPU limit). Without
 * metrics-server, or without the right to read it, the diagnosis goes on without them.
 */
async function readPodMetrics(kube: KubeClients, log: Logger): Promise<PodMetricsView[] | undefined> {
  try {
    return (await kube.metrics.getPodMetrics()).items;
  } catch (error) {
    log.warn(`pod metrics are not available (${statusOf(error) ?? 'no answer'}); diagnosing without them`);
    return undefined;
  }
}

/** Call edges from traffic metrics; without them the declared dependencies still apply. */
async function readCalls(url: string, log: Logger): Promise<ObservedCall[]> {
  try {
    const series = await queryInstant(url, CALLS_QUERY);
    return series
      .filter((s) => s.value > 0)
      .flatMap((s) => {
        const l = s.labels;
        const caller = l['source_workload'];
        const callee = l['destination_service_name'];
        if (!caller || !callee) return [];
        return [
          {
            namespace: l['source_workload_namespace'] ?? '',
            caller,
            calleeNamespace: l['destination_service_namespace'] ?? '',
            callee,
          },
        ];
      });
  } catch (error) {
    log.warn(
      { reason: error instanceof Error ? error.message : String(error) },
      'no call edges from prometheus',
    );
    return [];
  }
}

/** The fingerprint of a ConfigMap that was deleted (a hash is hex: it cannot collide). */
const DELETED = 'deleted';

/** What an update (or a deletion) changed, for the objects whose edits the API keeps no time of. */
function fingerprint(
  o: {
    kind: string;
    data?: unknown;
    binaryData?: unknown;
    spec?: { replicas?: number };
  },
  deleted: boolean,
): { value: string; describe: (before: string | undefined) => string; kind: Change['kind'] } | undefined {
  if (o.kind === 'ConfigMap' && deleted)
    return { value: DELETED, kind: 'config', describe: () => 'ConfigMap deleted' };
  if (deleted) return undefined;
  if (o.kind === 'ConfigMap') {
    const value = createHash('sha256')
      .update(JSON.stringify([o.data ?? {}, o.binaryData ?? {}]))
      .digest('hex')
      .slice(0, 16);
    return {
      value,
      kind: 'config',
      describe: (b) =>
        b === undefined
          ? 'ConfigMap updated'
          : b === DELETED
            ? 'ConfigMap created again'
            : `ConfigMap data changed (${b.slice(0, 7)} → ${value.slice(0, 7)})`,
    };
  }
  if (o.kind === 'Deployment' && typeof o.spec?.replicas === 'number') {
    const value = String(o.spec.replicas);
    return { value, kind: 'scale', describe: (b) => `scaled ${b ?? '?'} → ${value} replicas` };
  }
  return undefined;
}

/**
 * ConfigMap edits and deletions, and Deployment scaling: the API keeps no time for them, so rca
 * notes them from ApiServerSource updates and deletions (only a hash of ConfigMap data is kept).
 * Secrets are not watched: their data would travel the broker to every subscriber.
 */
async function recordChange(
  event: InboundOf<typeof EVENT_TYPES.apiServerUpdate> | InboundOf<typeof EVENT_TYPES.apiServerDelete>,
  deps: RcaDeps,
): Promise<void> {
  const o = event.data as {
    kind: string;
    metadata: { name: string; namespace?: string };
    data?: unknown;
    binaryData?: unknown;
    spec?: { replicas?: number };
    status?: { replicas?: number };
  };
  const print = fingerprint(o, event.type === EVENT_TYPES.apiServerDelete);
  if (!print) return;
  // The first update seen of a Deployment may be the scaling itself: until the controller catches
  // up, its status still counts the replicas it had.
  const running = o.status?.replicas;
  const before = print.kind === 'scale' && typeof running === 'number' ? String(running) : undefined;
  const key = keyOf({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name });
  const at = Date.parse(event.time ?? '') || Date.now();
  await withStore(() =>
    updateMany<{ hashes: Record<string, string>; changes: Change[] }>(
      deps.store,
      [CHANGES_KEY],
      (_k, current) => {
        const state = structuredClone(current ?? { hashes: {}, changes: [] });
        const previous = state.hashes[key] ?? before;
        state.hashes[key] = print.value;
        // A ConfigMap update means it was modified (counted even without an earlier hash); a
        // Deployment update is a scaling only when the replica count moved.
        const changed =
          print.kind === 'config'
            ? previous !== print.value
            : previous !== undefined && previous !== print.value;
        if (changed)
          state.changes.push({
            object: key,
            at,
            kind: print.kind,
            description: print.describe(previous),
            ...(print.kind === 'scale' && previous !== undefined
              ? { replicas: { from: Number(previous), to: Number(print.value) } }
              : {}),
          });
        state.changes = state.changes.filter((c) => at - c.at <= CHANGE_HISTORY_MS);
        return state;
      },
    ),
  );
}

async function loadChanges(store: BaselineStore): Promise<Change[]> {
  const loaded = await withStore(() => store.load<{ changes: Change[] }>([CHANGES_KEY]));
  return loaded.get(CHANGES_KEY)?.value.changes ?? [];
}

async function rememberRoot(store: BaselineStore, id: string, root: string): Promise<void> {
  await withStore(() =>
    updateMany<IncidentBook>(store, [BOOK_KEY], (_k, current) => {
      const book = structuredClone(current ?? { incidents: [] });
      const inc = book.incidents.find((i) => i.id === id);
      if (inc) inc.root = root;
      return book;
    }),
  );
}

/** Create or update the Incident resource (status through the status subresource). */
async function writeIncident(
  kube: KubeClients,
  incident: OpenIncident,
  d: DiagnosisData,
  created: boolean,
  log: Logger,
): Promise<void> {
  const top = d.candidates[0];
  // A merge patch: never the lists policy and act own (conditions, history), and the phase only
  // while the Incident has none (policy and act move it on from there).
  const status: Partial<IncidentStatus> = {
    severity: d.severity,
    startedAt: new Date(incident.start).toISOString(),
    lastSeenAt: new Date(incident.last).toISOString(),
    ...(top
      ? {
          rootCause: describe(top.object),
          rootCauseRef: {
            kind: top.object.kind,
            name: top.object.name,
            ...(top.object.namespace ? { namespace: top.object.namespace } : {}),
            ...(top.object.apiVersion ? { apiVersion: top.object.apiVersion } : {}),
          },
          faultClass: top.faultClass,
          confidence: Math.round(top.confidence * 100) / 100,
        }
      : {}),
    anomalies: d.anomalyIds.length,
    ...(d.sequence === undefined ? {} : { revision: d.sequence }),
    affected: [...new Set(incident.anomalies.map((a) => describe(a.entity)))].slice(0, 50),
    explanation: d.explanation,
    causalPath: d.causalPath
      .map((s) => `${describe(s.from)} --${s.relation}--> ${describe(s.to)}`)
      .slice(0, 50),
    evidence: d.evidence.slice(0, 30).map((e) => `${e.at} ${describe(e.object)}: ${e.description}`),
    recommendedActions: d.recommendedActions.map((a) => `${a.type} ${describe(a.target)}: ${a.reason}`),
  };
  try {
    // Another writer (policy, act, a newer diagnosis) between the read and the patch: read again,
    // after a random pause that grows with each attempt, so writers racing for one Incident (a
    // burst of anomalies from crash-looping pods) spread out instead of colliding again.
    for (let attempt = 1; ; attempt++) {
      try {
        await patchIncidentStatus(kube, incident.id, d, status, created && attempt === 1, log);
        return;
      } catch (error) {
        if (statusOf(error) !== 409 || attempt >= WRITE_ATTEMPTS) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * WRITE_BACKOFF_MS * 2 ** attempt));
    }
  } catch (error) {
    log.error({ incident: incident.id, status: statusOf(error) }, 'could not write the Incident');
    throw apiFailure(`writing Incident ${incident.id}`, error);
  }
}

const WRITE_ATTEMPTS = 8;
/** First backoff ceiling between conflicting writes (doubling: 20 ms … 2.6 s). */
const WRITE_BACKOFF_MS = 10;

/**
 * One read-and-patch of an Incident's status, conditional on the resourceVersion read. Diagnoses
 * are written concurrently: one from an older revision of the incident, finishing after a newer
 * one, would show a stale root cause, so it leaves the Incident as it is.
 */
async function patchIncidentStatus(
  kube: KubeClients,
  name: string,
  d: DiagnosisData,
  status: Partial<IncidentStatus>,
  created: boolean,
  log: Logger,
): Promise<void> {
  const base = { group: KURATIVE_GROUP, version: KURATIVE_VERSION, plural: 'incidents' };
  // The delivery that created the Incident may not have written its status yet, or a retried first
  // write may find the incident already in the store. Read what is there.
  const existing = created ? undefined : await getIncident(kube, name);
  const shown = existing?.status?.revision;
  if (shown !== undefined && d.sequence !== undefined && d.sequence < shown) {
    log.debug({ incident: name, revision: d.sequence, shown }, 'older diagnosis: Incident left as it is');
    return;
  }
  if (created || !existing) {
    await kube.custom
      .createClusterCustomObject({
        ...base,
        body: {
          apiVersion: KURATIVE_API_VERSION,
          kind: 'Incident',
          metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'kurative' } },
          spec: { summary: d.explanation.slice(0, 200) },
        },
      })
      .catch((error: unknown) => {
        if (statusOf(error) !== 409) throw error;
      });
  }
  const version = existing?.metadata?.resourceVersion;
  await kube.custom.patchClusterCustomObjectStatus(
    {
      ...base,
      name,
      body: {
        ...(version ? { metadata: { resourceVersion: version } } : {}),
        status: existing?.status?.phase ? status : { ...status, phase: 'Diagnosed' },
      },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

/** A Kubernetes Event on the root-cause object, so `kubectl describe` on it shows the diagnosis. */
async function recordEvent(kube: KubeClients, root: ObjectRef, d: DiagnosisData, log: Logger): Promise<void> {
  const recorded = await recordKubeEvent(kube, root, {
    reason: 'RootCauseIdentified',
    message: `kurative incident ${d.incidentId}: ${d.explanation}`,
    type: 'Warning',
    component: 'kurative-rca',
    at: new Date(d.diagnosedAt),
  });
  // The Incident already carries the diagnosis: a lost Event is logged, not retried.
  if (!recorded) log.warn({ incident: d.incidentId }, 'could not record the root-cause Event');
}

export function createDeps(config: Config): Promise<RcaDeps> {
  return Promise.resolve({
    ...clusterAndStore(config, (c) => createKubeClients(loadKubeConfig(c))),
    ...(config.prometheusUrl ? { prometheusUrl: config.prometheusUrl } : {}),
    demandQuery: config.demandQuery,
  });
}
