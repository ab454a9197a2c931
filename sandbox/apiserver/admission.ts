import { forbidden, invalid } from './errors.js';
import { parseQuantity } from './quantity.js';
import type { KubeObject, StatusCause } from './types.js';

type Resources = { requests?: Record<string, string>; limits?: Record<string, string> };
type Container = { name?: string; image?: string; resources?: Resources };
interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Name validation as the API server does it (namespaces, services: DNS-1123 labels; others: subdomains). */
export function validateName(kind: string, name: string): void {
  const label = kind === 'Namespace' || kind === 'Service';
  const ok = label
    ? DNS_LABEL.test(name) && name.length <= 63
    : DNS_SUBDOMAIN.test(name) && name.length <= 253;
  if (!ok) {
    throw invalid(kind, name, [
      {
        field: 'metadata.name',
        message: `Invalid value: "${name}": a lowercase RFC 1123 ${label ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      },
    ]);
  }
}

function containersOf(spec: PodSpec | undefined): Container[] {
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
}

/** Structural validation of the built-in kinds kurative and the simulator use. */
export function validateBuiltin(object: KubeObject): void {
  const causes: StatusCause[] = [];
  const spec = object['spec'] as Record<string, unknown> | undefined;
  if (object.kind === 'Pod') {
    const containers = (spec?.['containers'] as Container[] | undefined) ?? [];
    if (containers.length === 0)
      causes.push({ field: 'spec.containers', message: 'Required value', reason: 'FieldValueRequired' });
    containers.forEach((c, i) => {
      if (!c.name)
        causes.push({
          field: `spec.containers[${i}].name`,
          message: 'Required value',
          reason: 'FieldValueRequired',
        });
      if (!c.image)
        causes.push({
          field: `spec.containers[${i}].image`,
          message: 'Required value',
          reason: 'FieldValueRequired',
        });
      for (const [kind, value] of [
        ...Object.entries(c.resources?.requests ?? {}),
        ...Object.entries(c.resources?.limits ?? {}),
      ]) {
        if (parseQuantity(value) === undefined)
          causes.push({
            field: `spec.containers[${i}].resources`,
            message: `Invalid value: "${value}": quantities must match the regular expression (${kind})`,
          });
      }
      const req = c.resources?.requests ?? {};
      const lim = c.resources?.limits ?? {};
      for (const r of ['cpu', 'memory']) {
        const q = parseQuantity(req[r]);
        const l = parseQuantity(lim[r]);
        if (q !== undefined && l !== undefined && q > l) {
          causes.push({
            field: `spec.containers[${i}].resources.requests`,
            message: `Invalid value: "${req[r]}": must be less than or equal to ${r} limit of ${lim[r]}`,
          });
        }
      }
    });
  }
  if (['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'].includes(object.kind)) {
    const selector = spec?.['selector'] as { matchLabels?: Record<string, string> } | undefined;
    const template = spec?.['template'] as
      { metadata?: { labels?: Record<string, string> }; spec?: PodSpec } | undefined;
    if (!selector)
      causes.push({ field: 'spec.selector', message: 'Required value', reason: 'FieldValueRequired' });
    const labels = template?.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) {
      if (labels[k] !== v)
        causes.push({
          field: 'spec.template.metadata.labels',
          message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``,
        });
    }
    if ((template?.spec?.containers ?? []).length === 0)
      causes.push({
        field: 'spec.template.spec.containers',
        message: 'Required value',
        reason: 'FieldValueRequired',
      });
    const replicas = spec?.['replicas'];
    if (replicas !== undefined && (!Number.isInteger(replicas) || (replicas as number) < 0)) {
      causes.push({
        field: 'spec.replicas',
        message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
      });
    }
  }
  if (causes.length > 0) throw invalid(object.kind, object.metadata.name, causes);
}

interface LimitItem {
  type?: string;
  max?: Record<string, string>;
  min?: Record<string, string>;
  default?: Record<string, string>;
  defaultRequest?: Record<string, string>;
}

/** LimitRanger admission: default container resources, then enforce min/max (403 as on a real cluster). */
export function applyLimitRanges(pod: KubeObject, limitRanges: readonly KubeObject[]): void {
  const containers = containersOf(pod['spec'] as PodSpec | undefined);
  for (const lr of limitRanges) {
    const items = ((lr['spec'] as { limits?: LimitItem[] } | undefined)?.limits ?? []).filter(
      (l) => (l.type ?? 'Container') === 'Container',
    );
    for (const item of items) for (const c of containers) applyLimitItem(pod.metadata.name, c, item);
  }
}

function applyLimitItem(podName: string, c: Container, item: LimitItem): void {
  const resources = (c.resources ??= {});
  const limits = (resources.limits ??= {});
  const requests = (resources.requests ??= {});
  for (const [r, v] of Object.entries(item.default ?? {})) limits[r] ??= v;
  for (const [r, v] of Object.entries(item.defaultRequest ?? {})) requests[r] ??= limits[r] ?? v;
  const prefix = `pods "${podName}" is forbidden:`;
  for (const [r, v] of Object.entries(item.max ?? {})) {
    const limit = parseQuantity(limits[r]);
    if (limit === undefined)
      throw forbidden(`${prefix} maximum ${r} usage per Container is ${v}.  No limit is specified`);
    if (limit > (parseQuantity(v) ?? Infinity)) {
      throw forbidden(`${prefix} maximum ${r} usage per Container is ${v}, but limit is ${limits[r]}`);
    }
  }
  for (const [r, v] of Object.entries(item.min ?? {})) {
    const request = parseQuantity(requests[r]);
    if (request === undefined)
      throw forbidden(`${prefix} minimum ${r} usage per Container is ${v}.  No request is specified`);
    if (request < (parseQuantity(v) ?? 0)) {
      throw forbidden(`${prefix} minimum ${r} usage per Container is ${v}, but request is ${requests[r]}`);
    }
  }
  if (Object.keys(limits).length === 0) delete resources.limits;
  if (Object.keys(requests).length === 0) delete resources.requests;
}

/** Sum of a pod's container requests/limits for a quota resource name like `requests.cpu` or `limits.memory`. */
export function podUsage(pod: KubeObject, resourceName: string): number | undefined {
  const [kind, resource] = resourceName.includes('.')
    ? (resourceName.split('.') as [string, string])
    : ['requests', resourceName];
  let sum = 0;
  for (const c of (pod['spec'] as PodSpec | undefined)?.containers ?? []) {
    const v = parseQuantity((kind === 'limits' ? c.resources?.limits : c.resources?.requests)?.[resource]);
    if (v === undefined) return undefined;
    sum += v;
  }
  return sum;
}

/** ResourceQuota admission for pods: the new pod plus existing pods must fit every hard limit. */
export function checkQuotas(
  pod: KubeObject,
  quotas: readonly KubeObject[],
  existingPods: readonly KubeObject[],
): Record<string, Record<string, number>> {
  const usedByQuota: Record<string, Record<string, number>> = {};
  const live = existingPods.filter(
    (p) => !['Succeeded', 'Failed'].includes(String((p['status'] as { phase?: string } | undefined)?.phase)),
  );
  for (const quota of quotas) {
    const hard = (quota['spec'] as { hard?: Record<string, string> } | undefined)?.hard ?? {};
    const used: Record<string, number> = {};
    const missing: string[] = [];
    const exceeded: string[] = [];
    for (const [name, limitText] of Object.entries(hard)) {
      const limit = parseQuantity(limitText) ?? Infinity;
      if (name === 'pods' || name === 'count/pods') {
        used[name] = live.length + 1;
        if (used[name] > limit) exceeded.push(`${name}=${used[name]}/${limitText}`);
        continue;
      }
      if (!/^(requests\.|limits\.)?(cpu|memory)$/.test(name)) continue;
      const mine = podUsage(pod, name);
      if (mine === undefined) {
        missing.push(name.replace(/^requests\./, '').replace(/^limits\./, 'limits.'));
        continue;
      }
      const others = live.reduce((s, p) => s + (podUsage(p, name) ?? 0), 0);
      used[name] = others + mine;
      if (others + mine > limit + 1e-9)
        exceeded.push(
          `${name}=${formatLike(name, mine)}, used: ${name}=${formatLike(name, others)}, limited: ${name}=${limitText}`,
        );
    }
    const qname = quota.metadata.name;
    if (missing.length > 0)
      throw forbidden(
        `pods "${pod.metadata.name}" is forbidden: failed quota: ${qname}: must specify ${[...new Set(missing)].join(',')}`,
      );
    if (exceeded.length > 0)
      throw forbidden(
        `pods "${pod.metadata.name}" is forbidden: exceeded quota: ${qname}, requested: ${exceeded.join('; ')}`,
      );
    usedByQuota[qname] = used;
  }
  return usedByQuota;
}

function formatLike(name: string, value: number): string {
  if (name.endsWith('cpu')) return `${Math.round(value * 1000)}m`;
  if (name.endsWith('memory')) return `${Math.round(value / 2 ** 20)}Mi`;
  return String(value);
}

/**
 * A claim's requested size may only grow, and only when its StorageClass allows volume expansion
 * (the API server's PersistentVolumeClaimResize admission and validation).
 */
export function checkClaimResize(
  next: KubeObject,
  current: KubeObject,
  storageClass: (name: string) => KubeObject | undefined,
): void {
  const size = (o: KubeObject) =>
    parseQuantity(
      ((o['spec'] as { resources?: { requests?: Record<string, string> } } | undefined)?.resources
        ?.requests ?? {})['storage'],
    ) ?? 0;
  const [to, from] = [size(next), size(current)];
  if (to === from) return;
  const name = next.metadata.name;
  if (to < from)
    throw invalid('PersistentVolumeClaim', name, [
      {
        field: 'spec.resources.requests.storage',
        message: 'Forbidden: field can not be less than previous value',
      },
    ]);
  const className = (current['spec'] as { storageClassName?: string } | undefined)?.storageClassName ?? '';
  const sc = className ? storageClass(className) : undefined;
  if (sc?.['allowVolumeExpansion'] !== true)
    throw forbidden(
      `persistentvolumeclaims "${name}" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize`,
    );
}
