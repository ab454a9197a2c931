import { keyOf, type ClusterSnapshot } from './topology.js';

/** Something that changed in the cluster, when, and on which object. */
export interface Change {
  readonly object: string;
  readonly at: number;
  readonly kind: 'rollout' | 'restart' | 'config' | 'scale' | 'node-condition' | 'node-spec';
  readonly description: string;
  /** For a scale change: the replica counts before and after. */
  readonly replicas?: { readonly from: number; readonly to: number };
}

const REVISION = 'deployment.kubernetes.io/revision';

function time(t: string | Date | undefined): number {
  return t === undefined ? Number.NaN : new Date(t).getTime();
}

/** The pod template without what only restarts pods (`kubectl rollout restart`) or names the ReplicaSet. */
function essentialTemplate(rs: { spec?: Record<string, unknown> }): string {
  const template = structuredClone(
    (
      rs.spec as
        | {
            template?: {
              metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
            };
          }
        | undefined
    )?.template ?? {},
  );
  delete template.metadata?.labels?.['pod-template-hash'];
  delete template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
  return canonical(template);
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

function images(rs: { spec?: Record<string, unknown> }): string {
  const containers =
    (rs.spec as { template?: { spec?: { containers?: { name: string; image?: string }[] } } } | undefined)
      ?.template?.spec?.containers ?? [];
  return containers.map((c) => `${c.name}=${c.image ?? ''}`).join(',');
}

/**
 * Rollouts read from the ReplicaSets in a snapshot: every ReplicaSet after a Deployment's first
 * revision is a rollout of that Deployment at the ReplicaSet's creation, described by what changed.
 */
export function rolloutChanges(snapshot: ClusterSnapshot): Change[] {
  const byOwner = new Map<string, { rs: (typeof snapshot.replicaSets)[number]; revision: number }[]>();
  for (const rs of snapshot.replicaSets) {
    const owner = rs.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'Deployment');
    if (!owner) continue;
    const key = keyOf({ kind: 'Deployment', namespace: rs.metadata?.namespace, name: owner.name });
    const revision = Number(rs.metadata?.annotations?.[REVISION] ?? 0);
    byOwner.set(key, [...(byOwner.get(key) ?? []), { rs, revision }]);
  }
  const out: Change[] = [];
  for (const [deployment, list] of byOwner) {
    const sorted = [...list].sort(
      (a, b) => time(a.rs.metadata?.creationTimestamp) - time(b.rs.metadata?.creationTimestamp),
    );
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1];
      const cur = sorted[i];
      if (!prev || !cur) continue;
      const at = time(cur.rs.metadata?.creationTimestamp);
      if (essentialTemplate(prev.rs) === essentialTemplate(cur.rs)) {
        out.push({
          object: deployment,
          at,
          kind: 'restart',
          description: `restart (revision ${cur.revision}): same pod template, pods recreated`,
        });
        continue;
      }
      const before = images(prev.rs);
      const after = images(cur.rs);
      const what = before === after ? 'pod template changed (same images)' : `images ${before} → ${after}`;
      out.push({
        object: deployment,
        at,
        kind: 'rollout',
        description: `rollout to revision ${cur.revision}: ${what}`,
      });
    }
  }
  return out.filter((c) => Number.isFinite(c.at));
}
