// `npm run bench:score`: scoring throughput in memory against a naive baseline measured in the same
// run, and one 50 000-series batch through the real score path with Redis (load + compare-and-set).
import { spawn, spawnSync } from 'node:child_process';
import { mean, standardDeviation } from 'simple-statistics';
import { DEFAULT_PARAMS, newState, observe } from '../functions/score/detector.js';
import { signal } from './signal.js';
import { BUCKETS_PER_CHUNK } from '../functions/score/score-batch.js';
import { SERIES_BUCKETS } from '../shared/series/index.js';
import { freePort } from '../cli/processes.js';
import { bundle, runBundle } from './function-process.js';

const SERIES = 1000;
const STEPS = Number(process.env['BENCH_SCORE_STEPS'] ?? 10_000);

/** Inputs generated before timing, so both contenders measure scoring only. */
function inputs(steps: number): Float64Array {
  const values = new Float64Array(steps * SERIES);
  for (let t = 0; t < steps; t++) for (let i = 0; i < SERIES; i++) values[t * SERIES + i] = signal(i, t);
  return values;
}

/** Our detector: O(1) state per series, updated in place (fresh states each run). */
function measureDetector(values: Float64Array, steps: number): number {
  const states = Array.from({ length: SERIES }, () => newState());
  const out = { score: 0, likelihood: 0, z: 0, expected: 0, spread: 0 };
  const started = performance.now();
  let sink = 0;
  for (let t = 0; t < steps; t++) {
    const ts = t * 60_000;
    for (let i = 0; i < SERIES; i++) {
      const state = states[i] as ReturnType<typeof newState>;
      sink += observe(state, values[t * SERIES + i] as number, ts, DEFAULT_PARAMS, out).score;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  if (Number.isNaN(sink)) throw new Error('unreachable');
  return (SERIES * steps) / seconds;
}

/** The naive way: keep a 60-sample window per series and recompute mean and stddev every sample. */
function measureNaive(steps: number): number {
  const values = inputs(steps);
  const windows = Array.from({ length: SERIES }, () => [] as number[]);
  const started = performance.now();
  let sink = 0;
  for (let t = 0; t < steps; t++) {
    for (let i = 0; i < SERIES; i++) {
      const w = windows[i] as number[];
      const v = values[t * SERIES + i] as number;
      if (w.length >= 2) sink += Math.abs(v - mean(w)) / (standardDeviation(w) || 1);
      w.push(v);
      if (w.length > 60) w.shift();
    }
  }
  const seconds = (performance.now() - started) / 1000;
  if (Number.isNaN(sink)) throw new Error('unreachable');
  return (SERIES * steps) / seconds;
}

async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const external = process.env['KURATIVE_TEST_REDIS_URL'];
  if (external) return { url: external, stop: () => undefined };
  const bin = process.env['KURATIVE_TEST_REDIS_SERVER'] ?? 'redis-server';
  if (spawnSync(bin, ['--version']).status !== 0)
    throw new Error(`bench:score needs redis-server (${bin}); install Debian's redis-server`);
  const port = await freePort();
  const child = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG')
      break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

interface BatchFigures {
  ms: number;
  runsMs: number[];
  rssMb: number;
  baseRssMb: number;
  idleRssMb: number;
  /** The batch process's CPU time per timed batch (the client's side). */
  cpuMs: number[];
  /** Redis's own time per timed batch in the compare-and-set script and in MGET. */
  redisScriptMs: number;
  redisMgetMs: number;
  /** The same series sent as scrape sends them (events of ≤ 256 KiB), scored one event after another. */
  events: { count: number; samples: number; totalMs: number[]; eventMs: number[] };
}

/**
 * The 50 000-series batch (bench/score-batch.ts) bundled as the function image bundles its code and
 * run in a process of its own with the chart's NODE_OPTIONS, so its peak RSS is the scorer's (the
 * throughput run above holds 80 MB of inputs that have nothing to do with it).
 */
async function batchInChild(url: string): Promise<BatchFigures> {
  const outfile = 'dist/bench/score-batch.mjs';
  bundle('bench/score-batch.ts', outfile);
  const { code, line, out } = await runBundle(outfile, { BENCH_SCORE_REDIS_URL: url });
  if (code !== 0 || !line) throw new Error(`batch process failed (exit ${code}): ${out}`);
  return JSON.parse(line) as BatchFigures;
}

{
  // A warm-up pass of each first (untimed), so the figure is the optimised code's, as in a running
  // instance, not V8's tiering up; then the median of five runs each, alternating, so a noisy
  // moment on a shared machine does not decide the ratio.
  const values = inputs(STEPS);
  const naiveSteps = Math.max(200, Math.floor(STEPS / 20));
  measureDetector(values, Math.max(200, Math.floor(STEPS / 10)));
  measureNaive(naiveSteps);
  const runs: { detector: number; naive: number }[] = [];
  for (let i = 0; i < 5; i++)
    runs.push({ detector: measureDetector(values, STEPS), naive: measureNaive(naiveSteps) });
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1] ?? 0;
  const detector = median(runs.map((r) => r.detector));
  const naive = median(runs.map((r) => r.naive));
  const redis = await startRedis();
  try {
    const { ms, runsMs, rssMb, baseRssMb, idleRssMb, cpuMs, redisScriptMs, redisMgetMs, events } =
      await batchInChild(redis.url);
    console.log(
      `score detector=${(detector / 1e6).toFixed(2)}M/s naive=${(naive / 1e6).toFixed(2)}M/s (window of 60, simple-statistics; runs ${runs.map((r) => `${(r.detector / 1e6).toFixed(1)}/${(r.naive / 1e6).toFixed(1)}`).join(', ')})`,
    );
    console.log(
      `score batch of 50000 series: ${Math.round(ms)} ms (median of ${runsMs.map(Math.round).join('/')} after two warm-up batches; series in ${SERIES_BUCKETS} buckets, chunks of ${BUCKETS_PER_CHUNK} buckets pipelined), peak rss ${Math.round(rssMb)} MB (${Math.round(idleRssMb)} MB node and code before any batch, ${Math.round(baseRssMb)} MB between batches)`,
    );
    // Where a batch's time goes: the client's CPU and Redis's (on the other core, overlapped).
    console.log(
      `score batch split: client cpu ${Math.round(median([...cpuMs]))} ms (median), redis ${Math.round(redisScriptMs + redisMgetMs)} ms (script ${Math.round(redisScriptMs)}, mget ${Math.round(redisMgetMs)}; mean of the timed batches)`,
    );
    console.log(
      `score events: the same ${events.samples} series in ${events.count} events of ≤ 256 KiB (as scrape sends them), each parsed, checked and scored in turn: ${Math.round(median([...events.totalMs]))} ms in all (median of ${events.totalMs.map(Math.round).join('/')}), ${median([...events.eventMs]).toFixed(1)} ms an event (median)`,
    );
    console.log(
      `score: samples_per_s=${Math.round(detector)} ratio_vs_naive=${(detector / naive).toFixed(1)} batch50k_redis_ms=${Math.round(ms)} rss_mb=${Math.round(rssMb)}`,
    );
  } finally {
    redis.stop();
  }
}
