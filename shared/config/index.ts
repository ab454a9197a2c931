import { z } from 'zod';
import { FunctionName, Mode } from '../contracts/index.js';
import { DURATION_PATTERN, parseDuration } from '../duration/index.js';

const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p.length > 0),
  )
  .pipe(z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'not a valid namespace name')));

const url = z.url({ protocol: /^https?$/ });
const intFrom = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);
/** A duration (`30s`, `6h`, `1h30m`) in ms, at most `max` (written as `maxText` in the message). */
const durationUpTo = (hint: string, max: number, maxText: string, fallback: number) =>
  z
    .string()
    .regex(DURATION_PATTERN, hint)
    .transform(parseDuration)
    .pipe(z.number().max(max, `at most ${maxText}`))
    .default(fallback);

const ConfigSchema = z.object({
  FUNCTION_TARGET: FunctionName.optional(),
  KURATIVE_MODE: Mode.default('observe'),
  KURATIVE_NAMESPACE: z.string().min(1).default('kurative'),
  KURATIVE_WATCH_NAMESPACES: csv.default([]),
  KURATIVE_STORE: z.enum(['memory', 'redis', 'configmap']).default('memory'),
  KURATIVE_REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  KURATIVE_PROMETHEUS_URL: url.optional(),
  K_SINK: url.optional(),
  K_CE_OVERRIDES: z.string().optional(),
  KURATIVE_SINK_RETRIES: intFrom(0, 20, 4),
  KURATIVE_SINK_TIMEOUT_MS: intFrom(100, 120_000, 10_000),
  KURATIVE_MAX_EVENT_BYTES: intFrom(4096, 4 * 1024 * 1024, 256 * 1024),
  /** How much history a new PromQL Detector's series are warmed with (query_range); 0s disables. */
  KURATIVE_BACKFILL: durationUpTo(
    'a duration like 6h or 24h (0s disables)',
    7 * 86_400_000,
    '7d',
    86_400_000,
  ),
  /** At most this many backfilled samples per Detector (the window shrinks to fit its series). */
  KURATIVE_BACKFILL_MAX_SAMPLES: intFrom(1_000, 5_000_000, 200_000),
  /**
   * rca: the request rate of each Service, as PromQL returning one series per Service labelled
   * `namespace` and `service` (how much demand rose tells load from a runaway).
   */
  KURATIVE_DEMAND_QUERY: z
    .string()
    .trim()
    .min(1)
    .default('sum by (namespace, service) (http_requests_per_second)'),
  /**
   * How long policy lets a new incident gather its anomalies before deciding anything (after
   * Alertmanager's group_wait): the first anomaly of a scrape alone can look like a fault that the
   * rest of the scrape shows to be load. 0s decides on the first diagnosis.
   */
  KURATIVE_GROUP_WAIT: durationUpTo(
    'a duration like 30s or 1m (0s decides at once)',
    10 * 60_000,
    '10m',
    30_000,
  ),
  KUBECONFIG: z.string().min(1).optional(),
  KUBERNETES_SERVICE_HOST: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

const CeOverrides = z
  .object({ extensions: z.record(z.string().regex(/^[a-z0-9]{1,20}$/), z.string()) })
  .strict();

/** Runtime configuration of one function process, parsed once at start. */
export interface Config {
  readonly functionTarget: FunctionName | undefined;
  readonly mode: Mode;
  readonly namespace: string;
  readonly watchNamespaces: readonly string[];
  readonly store: { readonly type: 'memory' | 'redis' | 'configmap'; readonly redisUrl: string | undefined };
  readonly prometheusUrl: string | undefined;
  readonly sink: {
    readonly url: string | undefined;
    readonly overrides: Readonly<Record<string, string>>;
    readonly retries: number;
    readonly timeoutMs: number;
  };
  readonly maxEventBytes: number;
  /** Warm start of PromQL Detectors: history window (0 = off) and sample budget per Detector. */
  readonly backfill: { readonly windowMs: number; readonly maxSamples: number };
  /** rca: PromQL for each Service's request rate (labels `namespace`, `service`). */
  readonly demandQuery: string;
  /** policy: how long a new incident gathers anomalies before the first decision. */
  readonly groupWaitMs: number;
  readonly kubeconfig: string | undefined;
  /** Running in a pod (the API server is reachable through the service account). */
  readonly inCluster: boolean;
  readonly logLevel: string;
}

export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** Parse configuration from an env object; a bad value throws a ConfigError naming the variable. */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ConfigSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (e.KURATIVE_STORE === 'redis' && e.KURATIVE_REDIS_URL === undefined) {
    throw new ConfigError('invalid configuration: KURATIVE_REDIS_URL: required when KURATIVE_STORE=redis');
  }
  return {
    functionTarget: e.FUNCTION_TARGET,
    mode: e.KURATIVE_MODE,
    namespace: e.KURATIVE_NAMESPACE,
    watchNamespaces: e.KURATIVE_WATCH_NAMESPACES,
    store: { type: e.KURATIVE_STORE, redisUrl: e.KURATIVE_REDIS_URL },
    prometheusUrl: e.KURATIVE_PROMETHEUS_URL,
    sink: {
      url: e.K_SINK,
      overrides: parseOverrides(e.K_CE_OVERRIDES),
      retries: e.KURATIVE_SINK_RETRIES,
      timeoutMs: e.KURATIVE_SINK_TIMEOUT_MS,
    },
    maxEventBytes: e.KURATIVE_MAX_EVENT_BYTES,
    backfill: { windowMs: e.KURATIVE_BACKFILL, maxSamples: e.KURATIVE_BACKFILL_MAX_SAMPLES },
    demandQuery: e.KURATIVE_DEMAND_QUERY,
    groupWaitMs: e.KURATIVE_GROUP_WAIT,
    kubeconfig: e.KUBECONFIG,
    inCluster: e.KUBERNETES_SERVICE_HOST !== undefined,
    logLevel: e.LOG_LEVEL,
  };
}

// K_CE_OVERRIDES is set by SinkBinding as {"extensions":{...}} (Knative eventing, sources spec).
function parseOverrides(raw: string | undefined): Record<string, string> {
  if (raw === undefined) return {};
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (cause) {
    throw new ConfigError('invalid configuration: K_CE_OVERRIDES: not JSON', { cause });
  }
  const parsed = CeOverrides.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid configuration: K_CE_OVERRIDES: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    );
  }
  return parsed.data.extensions;
}
