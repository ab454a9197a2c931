// The 50 000-series batch of `npm run bench:score`. bench/score.ts bundles this file with esbuild
// (as the function image bundles its entry) and runs it in a process of its own with the chart's
// NODE_OPTIONS, so the peak RSS is the scorer's: node, the score path's code, the batch's samples
// and its store traffic — nothing of the bench's own inputs or of tsx.
// Prints one JSON line: { ms, runsMs, rssMb, baseRssMb, idleRssMb, cpuMs, redisScriptMs, redisMgetMs,
// events }.
import { checkEventData, EVENT_TYPES, type MetricsData, type Sample } from '../shared/contracts/index.js';
import { groupSamples, scoreStored } from '../functions/score/score-batch.js';
import { chunkSamples } from '../functions/scrape/chunk.js';
import { BUCKET_KEYS } from '../functions/score/series-bucket.js';
import { seriesKey } from '../shared/series/index.js';
import type { DetectorRule } from '../functions/score/rules.js';
import { spawnSync } from 'node:child_process';
import { RedisStore } from '../shared/store/redis.js';
import { signal } from './signal.js';

// Node and the score path's code, before any batch.
const idleRssMb = process.memoryUsage().rss / 2 ** 20;
const SERIES = 50_000;
const url = process.env['BENCH_SCORE_REDIS_URL'] ?? '';

/** One batch: a sample per series, grouped by series as score's handler groups them. */
function batch(minute: number): Map<string, Sample[]> {
  const out = new Map<string, Sample[]>();
  const at = new Date(Date.UTC(2026, 0, 1) + minute * 60_000).toISOString();
  for (let i = 0; i < SERIES; i++) {
    const s: Sample = {
      entity: { kind: 'Pod', namespace: `ns-${i % 100}`, name: `pod-${i}`, container: 'app' },
      signal: 'cpu_usage_cores',
      value: signal(i, minute),
      unit: 'cores',
      at,
    };
    out.set(seriesKey(s), [s]);
  }
  return out;
}

const store = new RedisStore({ url, prefix: `bench:${Date.now()}:` });
/**
 * Redis's own time in its commands so far, µs by command (`INFO commandstats`; read, never reset),
 * through redis-cli so that no second client adds to this process's RSS.
 */
function redisUsec(): Record<string, number> {
  const cli = spawnSync('redis-cli', ['-u', url, 'info', 'commandstats'], { encoding: 'utf8' });
  if (cli.status !== 0) throw new Error(`redis-cli info failed: ${cli.stderr}`);
  const info = cli.stdout;
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_(\w+):calls=\d+,usec=(\d+)/gm)) out[m[1] as string] = Number(m[2]);
  return out;
}
const NO_RULES: readonly DetectorRule[] = [];
/** CPU time of this process per batch (Redis's own time is not in it). */
const cpuMs: number[] = [];
async function run(minute: number): Promise<number> {
  const samples = batch(minute);
  const started = performance.now();
  const cpu = process.cpuUsage();
  await scoreStored(store, samples, NO_RULES);
  const used = process.cpuUsage(cpu);
  cpuMs.push((used.user + used.system) / 1000);
  return performance.now() - started;
}

// Warm-up batches create the keys and let the code be optimised, as in a running instance.
await run(0);
await run(1);
const baseRssMb = process.memoryUsage().rss / 2 ** 20;
const times: number[] = [];
const redisBefore = redisUsec();
// Median of seven: a shared machine's noise (another process on the Redis core) moves single batches by ±30 %.
const TIMED = 7;
for (let minute = 2; minute < 2 + TIMED; minute++) times.push(await run(minute));
// The kernel's high-water mark of the process (warm-up batches included): exact, and nothing polls
// it during the timed batches.
const peak = process.resourceUsage().maxRSS * 1024;
const redisAfter = redisUsec();

/**
 * The same series as scrape sends them: metrics events of at most 256 KiB (a bucket's series in
 * one), each parsed from its JSON, checked against its contract and scored, one after another;
 * three minutes, after the peak RSS was read (not part of it). ms in all per minute, and per event.
 */
async function runEvents(): Promise<{
  count: number;
  samples: number;
  totalMs: number[];
  eventMs: number[];
}> {
  const totalMs: number[] = [];
  const eventMs: number[] = [];
  let count = 0;
  for (let minute = 2 + TIMED; minute < 2 + TIMED + 3; minute++) {
    const samples = [...batch(minute).values()].flat();
    const meta = {
      scrapeId: `bench-${minute}`,
      scrapedAt: samples[0]?.at ?? '',
      source: 'metrics.k8s.io' as const,
    };
    const payloads = chunkSamples(samples, 256 * 1024, meta).batches.map((b) => JSON.stringify(b));
    count = payloads.length;
    const started = performance.now();
    for (const payload of payloads) {
      const at = performance.now();
      // Parsed and checked against the contract as score's handler does (shared/runtime).
      const checked = checkEventData(EVENT_TYPES.metrics, JSON.parse(payload));
      if (!checked.success)
        throw new Error(`bench metrics event breaks its contract: ${checked.error.message}`);
      const data = checked.data as MetricsData;
      await scoreStored(store, groupSamples(data.samples), NO_RULES, undefined, {
        now: Date.parse(data.scrapedAt),
      });
      eventMs.push(performance.now() - at);
    }
    totalMs.push(performance.now() - started);
  }
  return { count, samples: SERIES, totalMs, eventMs };
}
const events = await runEvents();
/** Redis's time a timed batch, ms: the compare-and-set script and the MGETs (other clients' too, on a shared Redis). */
const redisMs = (command: string) =>
  ((redisAfter[command] ?? 0) - (redisBefore[command] ?? 0)) / 1000 / TIMED;
// Leave nothing behind in a shared Redis.
await store.remove(BUCKET_KEYS);
await store.close();
times.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    ms: times[times.length >> 1],
    runsMs: times,
    rssMb: peak / 2 ** 20,
    baseRssMb,
    idleRssMb,
    cpuMs: cpuMs.slice(2),
    redisScriptMs: redisMs('evalsha'),
    redisMgetMs: redisMs('mget'),
    events,
  }),
);
