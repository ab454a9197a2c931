import { median } from 'simple-statistics';
import type { Logger } from '../../shared/log/index.js';
import { queryRange, type RangeSeries } from '../../shared/prometheus/index.js';
import type { ServiceDemand } from './topology.js';

/** The usual rate is read over this long before the onset… */
const BEFORE_MS = 30 * 60_000;
/** …ending this long before it: a rise that began just before the anomaly opened is not the usual rate. */
const EDGE_MS = 2 * 60_000;
/** Fewer points than this before the onset say nothing of its usual rate. */
const MIN_BEFORE_POINTS = 5;
/** One point a minute, or fewer for long incidents (Prometheus caps a series at 11 000 points). */
const STEP_S = 60;
const MAX_POINTS = 1_000;

/**
 * Each Service's request rate before an incident's onset (the median over the half hour ending two
 * minutes before it) and since (the median from the onset on, or the latest point when the onset is
 * newer than the last step). Series without labelled Services or too little history are left out.
 */
export function summariseDemand(series: readonly RangeSeries[], onsetMs: number): ServiceDemand[] {
  const out: ServiceDemand[] = [];
  for (const s of series) {
    const namespace = s.labels['namespace'];
    const service = s.labels['service'];
    if (!namespace || !service) continue;
    const points = s.points
      .map((p) => ({ at: Date.parse(p.at), value: p.value }))
      .filter((p) => Number.isFinite(p.at) && Number.isFinite(p.value) && p.value >= 0);
    const before = points
      .filter((p) => p.at >= onsetMs - BEFORE_MS - EDGE_MS && p.at <= onsetMs - EDGE_MS)
      .map((p) => p.value);
    const sinceOnset = points.filter((p) => p.at >= onsetMs).map((p) => p.value);
    const latest = points[points.length - 1];
    const since =
      sinceOnset.length > 0 ? sinceOnset : latest && latest.at > onsetMs - EDGE_MS ? [latest.value] : [];
    if (before.length < MIN_BEFORE_POINTS || since.length === 0) continue;
    out.push({ namespace, service, before: median(before), since: median(since) });
  }
  return out;
}

/**
 * Services' request rates around an incident's onset, from Prometheus (`query`: one series per
 * Service, labelled `namespace` and `service`). Without an answer the diagnosis goes on without
 * them, as it does without call edges.
 */
export async function readDemand(
  url: string,
  query: string,
  onsetMs: number,
  nowMs: number,
  log: Logger,
): Promise<ServiceDemand[]> {
  const startMs = onsetMs - BEFORE_MS - EDGE_MS;
  const endMs = Math.max(nowMs, onsetMs);
  const stepSeconds = Math.max(STEP_S, Math.ceil((endMs - startMs) / 1000 / MAX_POINTS));
  try {
    const series = await queryRange(url, query, {
      start: new Date(startMs),
      end: new Date(endMs),
      stepSeconds,
    });
    return summariseDemand(series, onsetMs);
  } catch (error) {
    log.warn(
      { reason: error instanceof Error ? error.message : String(error) },
      'no request rates from prometheus; telling load from a fault without them',
    );
    return [];
  }
}
