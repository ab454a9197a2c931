import type { KubeObject } from './types.js';

/** core/v1 Event (storage form) → events.k8s.io/v1 Event. */
export function toEventsV1(e: KubeObject): KubeObject {
  const source = e['source'] as { component?: string; host?: string } | undefined;
  const count = (e['count'] as number | undefined) ?? 1;
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: e.metadata,
    eventTime: e['eventTime'] ?? e['firstTimestamp'] ?? null,
    reportingController: e['reportingComponent'] ?? source?.component ?? '',
    reportingInstance: e['reportingInstance'] ?? source?.host ?? '',
    action: e['action'] ?? '',
    reason: e['reason'],
    regarding: e['involvedObject'],
    note: e['message'],
    type: e['type'],
    deprecatedSource: source,
    deprecatedFirstTimestamp: e['firstTimestamp'],
    deprecatedLastTimestamp: e['lastTimestamp'],
    deprecatedCount: count,
    ...(count > 1 ? { series: { count, lastObservedTime: e['lastTimestamp'] } } : {}),
  };
}

/** events.k8s.io/v1 Event → core/v1 Event (storage form). */
export function fromEventsV1(e: KubeObject): KubeObject {
  const series = e['series'] as { count?: number; lastObservedTime?: string } | undefined;
  const eventTime = e['eventTime'] as string | undefined;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: e.metadata,
    involvedObject: e['regarding'],
    related: e['related'],
    reason: e['reason'],
    message: e['note'],
    type: e['type'],
    action: e['action'],
    eventTime,
    reportingComponent: e['reportingController'],
    reportingInstance: e['reportingInstance'],
    source: e['deprecatedSource'] ?? { component: e['reportingController'] },
    firstTimestamp: e['deprecatedFirstTimestamp'] ?? eventTime,
    lastTimestamp: series?.lastObservedTime ?? e['deprecatedLastTimestamp'] ?? eventTime,
    count: series?.count ?? e['deprecatedCount'] ?? 1,
  };
}
