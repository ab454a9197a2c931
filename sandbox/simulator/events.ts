import type { Cluster } from '../apiserver/cluster.js';
import type { KubeObject } from '../apiserver/types.js';

/**
 * Records Kubernetes Events like client-go's recorder: the same (object, type, reason, message)
 * is aggregated into one Event whose count and lastTimestamp grow.
 */
export class EventRecorder {
  private readonly seen = new Map<string, { namespace: string; name: string }>();
  private counter = 0;

  constructor(private readonly cluster: Cluster) {}

  record(
    involved: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    component: string,
    host?: string,
  ): void {
    const c = this.cluster;
    const eventType = c.kind('v1', 'Event');
    const namespace = involved.metadata.namespace ?? 'default';
    const key = `${involved.metadata.uid ?? involved.metadata.name}|${type}|${reason}|${message}`;
    const now = c
      .now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    const existing = this.seen.get(key);
    if (existing) {
      const current = c.store.peek('/events', existing.namespace, existing.name);
      if (current) {
        c.update(
          eventType,
          {
            ...structuredClone(current),
            count: ((current['count'] as number | undefined) ?? 1) + 1,
            lastTimestamp: now,
          },
          {},
          existing.namespace,
        );
        return;
      }
    }
    const name = `${involved.metadata.name}.${(c.now().getTime() * 1000 + ++this.counter).toString(16)}`;
    c.create(
      eventType,
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: involved.apiVersion,
          kind: involved.kind,
          name: involved.metadata.name,
          namespace: involved.metadata.namespace,
          uid: involved.metadata.uid,
          resourceVersion: involved.metadata.resourceVersion,
        },
        reason,
        message,
        type,
        source: { component, ...(host ? { host } : {}) },
        reportingComponent: component,
        reportingInstance: host ?? '',
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
      {},
      namespace,
    );
    this.seen.set(key, { namespace, name });
  }
}
