import type { PrinterColumn, ResourceType } from './resources.js';
import { asText, type KubeObject } from './types.js';

type Row = { cells: unknown[]; object: Record<string, unknown> };

/** Human age like the real printers ("5d", "3h12m", "45s"). */
export function formatAge(timestamp: string | undefined, now: Date): string {
  if (!timestamp) return '<unknown>';
  const s = Math.max(0, Math.floor((now.getTime() - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  return d < 8 ? `${d}d${h % 24 ? `${h % 24}h` : ''}` : `${d}d`;
}

const col = (
  name: string,
  type = 'string',
  priority = 0,
  format = '',
): PrinterColumn & { priority: number } => ({ name, type, jsonPath: '', priority, format });

type Printer = {
  columns: (PrinterColumn & { priority: number })[];
  cells: (o: KubeObject, now: Date) => unknown[];
};

const get = (o: unknown, path: string): unknown => {
  let v: unknown = o;
  for (const k of path.split('.').filter(Boolean))
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
};

function podStatus(o: KubeObject): { ready: string; status: string; restarts: number } {
  const statuses =
    (get(o, 'status.containerStatuses') as
      | { ready?: boolean; restartCount?: number; state?: Record<string, { reason?: string }> }[]
      | undefined) ?? [];
  const total = ((get(o, 'spec.containers') as unknown[] | undefined) ?? []).length;
  const ready = statuses.filter((c) => c.ready).length;
  let status = asText(get(o, 'status.reason')) || asText(get(o, 'status.phase'), 'Unknown');
  for (const c of statuses) {
    const waiting = c.state?.['waiting']?.reason;
    const terminated = c.state?.['terminated']?.reason;
    if (waiting) status = waiting;
    else if (terminated && status !== 'Running') status = terminated;
  }
  if (o.metadata.deletionTimestamp) status = 'Terminating';
  return {
    ready: `${ready}/${total}`,
    status,
    restarts: statuses.reduce((s, c) => s + (c.restartCount ?? 0), 0),
  };
}

const PRINTERS: Record<string, Printer> = {
  Pod: {
    columns: [
      col('Name', 'string', 0, 'name'),
      col('Ready'),
      col('Status'),
      col('Restarts', 'string'),
      col('Age'),
      col('IP', 'string', 1),
      col('Node', 'string', 1),
    ],
    cells: (o, now) => {
      const s = podStatus(o);
      return [
        o.metadata.name,
        s.ready,
        s.status,
        String(s.restarts),
        formatAge(o.metadata.creationTimestamp, now),
        get(o, 'status.podIP') ?? '<none>',
        get(o, 'spec.nodeName') ?? '<none>',
      ];
    },
  },
  Node: {
    columns: [
      col('Name', 'string', 0, 'name'),
      col('Status'),
      col('Roles'),
      col('Age'),
      col('Version'),
      col('Internal-IP', 'string', 1),
    ],
    cells: (o, now) => {
      const conditions =
        (get(o, 'status.conditions') as { type: string; status: string }[] | undefined) ?? [];
      const ready = conditions.find((c) => c.type === 'Ready');
      let status = ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown';
      if (get(o, 'spec.unschedulable')) status += ',SchedulingDisabled';
      const roles =
        Object.keys(o.metadata.labels ?? {})
          .filter((l) => l.startsWith('node-role.kubernetes.io/'))
          .map((l) => l.split('/')[1])
          .join(',') || '<none>';
      const ip =
        ((get(o, 'status.addresses') as { type: string; address: string }[] | undefined) ?? []).find(
          (a) => a.type === 'InternalIP',
        )?.address ?? '<none>';
      return [
        o.metadata.name,
        status,
        roles,
        formatAge(o.metadata.creationTimestamp, now),
        get(o, 'status.nodeInfo.kubeletVersion') ?? '',
        ip,
      ];
    },
  },
  PersistentVolumeClaim: {
    columns: [
      col('Name', 'string', 0, 'name'),
      col('Status'),
      col('Volume'),
      col('Capacity'),
      col('Access Modes'),
      col('StorageClass'),
      col('Age'),
    ],
    cells: (o, now) => [
      o.metadata.name,
      asText(get(o, 'status.phase'), 'Pending'),
      asText(get(o, 'spec.volumeName')),
      asText(get(o, 'status.capacity.storage')),
      ((get(o, 'status.accessModes') as string[] | undefined) ?? [])
        .map((m) => ({ ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX' })[m] ?? m)
        .join(','),
      asText(get(o, 'spec.storageClassName'), '<unset>'),
      formatAge(o.metadata.creationTimestamp, now),
    ],
  },
  StorageClass: {
    columns: [
      col('Name', 'string', 0, 'name'),
      col('Provisioner'),
      col('ReclaimPolicy'),
      col('VolumeBindingMode'),
      col('AllowVolumeExpansion'),
      col('Age'),
    ],
    cells: (o, now) => [
      o.metadata.name,
      asText(get(o, 'provisioner')),
      asText(get(o, 'reclaimPolicy'), 'Delete'),
      asText(get(o, 'volumeBindingMode'), 'Immediate'),
      String(get(o, 'allowVolumeExpansion') === true),
      formatAge(o.metadata.creationTimestamp, now),
    ],
  },
  Deployment: {
    columns: [
      col('Name', 'string', 0, 'name'),
      col('Ready'),
      col('Up-to-date', 'integer'),
      col('Available', 'integer'),
      col('Age'),
      col('Images', 'string', 1),
    ],
    cells: (o, now) => [
      o.metadata.name,
      `${Number(get(o, 'status.readyReplicas') ?? 0)}/${Number(get(o, 'spec.replicas') ?? 0)}`,
      Number(get(o, 'status.updatedReplicas') ?? 0),
      Number(get(o, 'status.availableReplicas') ?? 0),
      formatAge(o.metadata.creationTimestamp, now),
      images(o),
    ],
  },
  ReplicaSet: {
    columns: [
      col('Name', 'string', 0, 'name'),
      col('Desired', 'integer'),
      col('Current', 'integer'),
      col('Ready', 'integer'),
      col('Age'),
    ],
    cells: (o, now) => [
      o.metadata.name,
      Number(get(o, 'spec.replicas') ?? 0),
      Number(get(o, 'status.replicas') ?? 0),
      Number(get(o, 'status.readyReplicas') ?? 0),
      formatAge(o.metadata.creationTimestamp, now),
    ],
  },
  Event: {
    columns: [col('Last Seen'), col('Type'), col('Reason'), col('Object'), col('Message')],
    cells: (o, now) => [
      formatAge(
        asText(get(o, 'lastTimestamp')) ||
          asText(get(o, 'eventTime')) ||
          asText(get(o, 'deprecatedLastTimestamp')),
        now,
      ),
      get(o, 'type') ?? '',
      get(o, 'reason') ?? '',
      (() => {
        const r = (get(o, 'involvedObject') ?? get(o, 'regarding')) as
          { kind?: string; name?: string } | undefined;
        return `${(r?.kind ?? '').toLowerCase()}/${r?.name ?? ''}`;
      })(),
      get(o, 'message') ?? get(o, 'note') ?? '',
    ],
  },
  Namespace: {
    columns: [col('Name', 'string', 0, 'name'), col('Status'), col('Age')],
    cells: (o, now) => [
      o.metadata.name,
      get(o, 'status.phase') ?? 'Active',
      formatAge(o.metadata.creationTimestamp, now),
    ],
  },
  PodDisruptionBudget: {
    columns: [
      col('Name', 'string', 0, 'name'),
      col('Min Available'),
      col('Max Unavailable'),
      col('Allowed Disruptions', 'integer'),
      col('Age'),
    ],
    cells: (o, now) => [
      o.metadata.name,
      asText(get(o, 'spec.minAvailable'), 'N/A'),
      asText(get(o, 'spec.maxUnavailable'), 'N/A'),
      Number(get(o, 'status.disruptionsAllowed') ?? 0),
      formatAge(o.metadata.creationTimestamp, now),
    ],
  },
};

function images(o: KubeObject): string {
  return ((get(o, 'spec.template.spec.containers') as { image?: string }[] | undefined) ?? [])
    .map((c) => c.image)
    .join(',');
}

/** Evaluate a CRD printer column JSONPath such as `.status.phase` or `.spec.items[0].name`. */
export function evalJsonPath(o: unknown, path: string): unknown {
  const cleaned = path.replace(/^\{?\.?/, '').replace(/\}$/, '');
  let v: unknown = o;
  for (const part of cleaned.split('.').filter(Boolean)) {
    const m = /^([^[]+)((\[\d+\])*)$/.exec(part);
    if (!m) return undefined;
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[m[1] ?? ''] : undefined;
    for (const idx of (m[2] ?? '').match(/\d+/g) ?? []) v = Array.isArray(v) ? v[Number(idx)] : undefined;
  }
  return v;
}

function printerFor(type: ResourceType): Printer {
  if (type.printerColumns && type.printerColumns.length > 0) {
    const columns = [
      col('Name', 'string', 0, 'name'),
      ...type.printerColumns.map((c) => ({ ...c, priority: c.priority ?? 0, format: c.format ?? '' })),
    ];
    const hasAge = type.printerColumns.some((c) => c.name.toLowerCase() === 'age');
    if (!hasAge) columns.push(col('Age'));
    return {
      columns,
      cells: (o, now) => {
        const cells: unknown[] = [o.metadata.name];
        for (const c of type.printerColumns ?? []) {
          const v = evalJsonPath(o, c.jsonPath);
          if (c.type === 'date') cells.push(typeof v === 'string' ? formatAge(v, now) : '<unknown>');
          else if (v === undefined || v === null)
            cells.push(c.type === 'integer' || c.type === 'number' ? null : '');
          else cells.push(typeof v === 'object' ? JSON.stringify(v) : v);
        }
        if (!hasAge) cells.push(formatAge(o.metadata.creationTimestamp, now));
        return cells;
      },
    };
  }
  return (
    PRINTERS[type.kind] ?? {
      columns: [col('Name', 'string', 0, 'name'), col('Age')],
      cells: (o, now) => [o.metadata.name, formatAge(o.metadata.creationTimestamp, now)],
    }
  );
}

function partialMetadata(o: KubeObject): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

/** A meta.k8s.io/v1 Table for `kubectl get` (server-side printing). */
export function toTable(
  type: ResourceType,
  objects: readonly KubeObject[],
  now: Date,
  resourceVersion: string,
  continueToken?: string,
  withColumns = true,
): Record<string, unknown> {
  const printer = printerFor(type);
  const rows: Row[] = objects.map((o) => ({ cells: printer.cells(o, now), object: partialMetadata(o) }));
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion, ...(continueToken ? { continue: continueToken } : {}) },
    columnDefinitions: withColumns
      ? printer.columns.map((c) => ({
          name: c.name,
          type: c.type,
          format: c.format ?? '',
          description: c.description ?? '',
          priority: c.priority,
        }))
      : [],
    rows,
  };
}
