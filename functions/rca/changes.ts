import { REMEDIATION_ANNOTATION } from '../../shared/contracts/index.js';
import { deploymentRevision, revisionTemplate } from '../../shared/kube/workloads.js';
import { keyOf, type ClusterSnapshot, type MetaView } from './topology.js';

/** Something that changed in the cluster, when, and on which object. */
export interface Change {
  readonly object: string;
  readonly at: number;
  /** `remediation`: a new revision kurative itself made (a resize), not someone's rollout. */
  readonly kind: 'rollout' | 'restart' | 'remediation' | 'config' | 'scale' | 'node-condition' | 'node-spec';
  readonly description: string;
  /** For a scale change: the replica counts before and after. */
  readonly replicas?: { readonly from: number; readonly to: number };
  /**
   * For a config change: when it took effect in the incident, if later than the change itself (a
   * pod reads its ConfigMaps when it starts, so an edit hurts only when a pod starts after it).
   */
  readonly effectiveAt?: number;
}

function time(t: string | Date | undefined): number {
  return t === undefined ? Number.NaN : new Date(t).getTime();
}

type Template = {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { containers?: { name: string; image?: string }[] };
};

/** The pod template without what only restarts pods (`kubectl rollout restart`) or names the revision. */
function essentialTemplate(template: Template | undefined): string {
  const t = structuredClone(template ?? {});
  delete t.metadata?.labels?.['pod-template-hash'];
  delete t.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
  return canonical(t);
}

/** JSON with object keys sorted and empty objects dropped, so equal templates compare equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(
        ([, v]) =>
          v !== undefined &&
          !(v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0),
      )
      .sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function images(template: Template | undefined): string {
  return (template?.spec?.containers ?? []).map((c) => `${c.name}=${c.image ?? ''}`).join(',');
}

/** One revision of a workload's pod template: a ReplicaSet, or a ControllerRevision. */
interface TemplateRecord {
  readonly at: number;
  readonly revision: number;
  readonly template: Template | undefined;
}

/** Every workload's template revisions, by workload key. */
function templateRecords(snapshot: ClusterSnapshot): Map<string, TemplateRecord[]> {
  const byOwner = new Map<string, TemplateRecord[]>();
  const add = (
    o: { metadata?: MetaView },
    ownerKinds: readonly string[],
    revision: number,
    template: unknown,
  ) => {
    const owner = o.metadata?.ownerReferences?.find((r) => r.controller && ownerKinds.includes(r.kind));
    if (!owner) return;
    const key = keyOf({ kind: owner.kind, namespace: o.metadata?.namespace, name: owner.name });
    const at = time(o.metadata?.creationTimestamp);
    byOwner.set(key, [...(byOwner.get(key) ?? []), { at, revision, template: template as Template }]);
  };
  for (const rs of snapshot.replicaSets)
    add(
      rs,
      ['Deployment'],
      deploymentRevision(rs),
      (rs.spec as { template?: unknown } | undefined)?.template,
    );
  for (const cr of snapshot.controllerRevisions ?? [])
    add(cr, ['StatefulSet', 'DaemonSet'], Number(cr.revision ?? 0), revisionTemplate(cr.data));
  return byOwner;
}

/**
 * Rollouts read from the template revisions in a snapshot (a Deployment's ReplicaSets, a
 * StatefulSet's or DaemonSet's ControllerRevisions): every revision after a workload's first is a
 * rollout of that workload at the revision's creation, described by what changed.
 */
export function rolloutChanges(snapshot: ClusterSnapshot): Change[] {
  const out: Change[] = [];
  for (const [workload, list] of templateRecords(snapshot)) {
    const sorted = [...list].sort((a, b) => a.at - b.at);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1];
      const cur = sorted[i];
      if (!prev || !cur) continue;
      const at = cur.at;
      if (essentialTemplate(prev.template) === essentialTemplate(cur.template)) {
        out.push({
          object: workload,
          at,
          kind: 'restart',
          description: `restart (revision ${cur.revision}): same pod template, pods recreated`,
        });
        continue;
      }
      const remediatedFor = cur.template?.metadata?.annotations?.[REMEDIATION_ANNOTATION];
      if (remediatedFor && remediatedFor !== prev.template?.metadata?.annotations?.[REMEDIATION_ANNOTATION]) {
        out.push({
          object: workload,
          at,
          kind: 'remediation',
          description: `kurative's remediation of ${remediatedFor} (revision ${cur.revision})`,
        });
        continue;
      }
      const before = images(prev.template);
      const after = images(cur.template);
      const what = before === after ? 'pod template changed (same images)' : `images ${before} → ${after}`;
      out.push({
        object: workload,
        at,
        kind: 'rollout',
        description: `rollout to revision ${cur.revision}: ${what}`,
      });
    }
  }
  return out.filter((c) => Number.isFinite(c.at));
}
