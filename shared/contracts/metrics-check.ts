import { METRICS_SOURCES, SIGNAL_MAX_LENGTH, Timestamp, UNIT_MAX_LENGTH } from './common.js';
import type { MetricsData } from './events.js';

// A metrics event carries ~1 400 samples, and zod checked each at ~3–4 µs (a 50 000-sample scrape:
// ~170 ms of zod on top of ~120 ms of JSON.parse, in scrape as it emits and in score as it
// receives). This check says in ~0.4 µs a sample that the data is certainly valid: it accepts only
// what MetricsData would accept and return unchanged (the same keys and values), and answers false
// for anything else — invalid data, or data it is not sure of — which then goes through zod as
// before, for its verdict and its reasons. So it decides nothing on its own; tests hold it to that
// against zod (test/shared/contracts/metrics-check.test.ts).

const SOURCES: ReadonlySet<string> = new Set(METRICS_SOURCES);

/** The last timestamp zod accepted: a scrape's samples share their time, so each is checked once. */
let knownTimestamp = '';
function isTimestamp(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  if (value === knownTimestamp) return true;
  if (!Timestamp.safeParse(value).success) return false;
  knownTimestamp = value;
  return true;
}

/** A plain object (what JSON.parse makes), not an array, null or a class instance. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype;
}

const nonEmpty = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function isObjectRef(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  // Every field of an ObjectRef is a non-empty string; kind and name are required.
  let required = 0;
  for (const key in value) {
    if (!nonEmpty(value[key])) return false;
    if (key === 'kind' || key === 'name') required++;
    else if (key !== 'apiVersion' && key !== 'namespace' && key !== 'uid' && key !== 'container')
      return false;
  }
  return required === 2;
}

function isLabels(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  // zod's record drops a `__proto__` key: its output would differ from the input.
  if (Object.hasOwn(value, '__proto__')) return false;
  for (const key in value) if (typeof value[key] !== 'string') return false;
  return true;
}

function isSample(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  // entity, signal, value and at are required (an object has each key once).
  let required = 0;
  for (const key in value) {
    const v = value[key];
    switch (key) {
      case 'entity':
        if (!isObjectRef(v)) return false;
        required++;
        break;
      case 'signal':
        if (typeof v !== 'string' || v.length === 0 || v.length > SIGNAL_MAX_LENGTH) return false;
        required++;
        break;
      case 'value':
        if (!finite(v)) return false;
        required++;
        break;
      case 'at':
        if (!isTimestamp(v)) return false;
        required++;
        break;
      default:
        if (!isOptionalSampleField(key, v)) return false;
    }
  }
  return required === 4;
}

/** A sample's optional field, or false for a key a sample does not have. */
function isOptionalSampleField(key: string, v: unknown): boolean {
  switch (key) {
    case 'unit':
      return typeof v === 'string' && v.length <= UNIT_MAX_LENGTH;
    case 'limit':
      return finite(v) && v > 0;
    case 'request':
      return finite(v) && v >= 0;
    case 'labels':
      return isLabels(v);
    default:
      return false;
  }
}

function isBatch(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  let count = 0;
  for (const key in value) {
    if (key !== 'index' && key !== 'count') return false;
    count++;
  }
  const { index, count: of } = value;
  return (
    count === 2 &&
    Number.isSafeInteger(index) &&
    Number.isSafeInteger(of) &&
    (index as number) >= 0 &&
    (of as number) > 0 &&
    (index as number) < (of as number)
  );
}

/**
 * True only when `value` is valid metrics data that MetricsData would return unchanged; false when
 * it is not, or when this check cannot tell (ask zod then).
 */
export function isKnownValidMetricsData(value: unknown): value is MetricsData {
  if (!isPlainObject(value)) return false;
  let fields = 0;
  for (const key in value) {
    if (key !== 'scrapeId' && key !== 'scrapedAt' && key !== 'source' && key !== 'batch' && key !== 'samples')
      return false;
    fields++;
  }
  const { scrapeId, scrapedAt, source, batch, samples } = value;
  if (
    fields !== 5 ||
    !nonEmpty(scrapeId) ||
    !isTimestamp(scrapedAt) ||
    typeof source !== 'string' ||
    !SOURCES.has(source) ||
    !isBatch(batch) ||
    !Array.isArray(samples)
  )
    return false;
  for (let i = 0; i < samples.length; i++) if (!isSample(samples[i])) return false;
  return true;
}
