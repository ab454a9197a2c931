import { randomBytes } from 'node:crypto';

// W3C Trace Context (https://www.w3.org/TR/trace-context/#traceparent-header).
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly flags: string;
}

/** Parse a traceparent; invalid or all-zero ids give undefined (start a new trace). */
export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  const m = value === undefined ? null : TRACEPARENT.exec(value);
  if (!m || m[1] === 'ff') return undefined;
  const [, , traceId = '', spanId = '', flags = '01'] = m;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, flags };
}

/** A child span of `parent` (or a new root) rendered as a traceparent header value. */
export function childTraceparent(parent: TraceContext | undefined, random = randomBytes): string {
  const traceId = parent?.traceId ?? random(16).toString('hex');
  const spanId = random(8).toString('hex');
  return `00-${traceId}-${spanId}-${parent?.flags ?? '01'}`;
}
