// `npm run bench:scrape`: one scrape of a large cluster (10 000 pods on 500 nodes by default) as the
// scrape function runs it: objects listed a page at a time as the API server's JSON (what scrape
// does), against each list in one response read through client-node's typed models (the baseline:
// what scrape did before 2026-11-29), and each list in one response as JSON (paging's share alone).
// Each runs in processes of its own with the chart's NODE_OPTIONS (heap capped at 192 MB), in turn.
// Ends with `scrape: pods=<n> ms=<t> cpu_ms=<c> rss_mb=<m> baseline_ms=<t> baseline_cpu_ms=<c>
// baseline_rss_mb=<m>` (`none` where every baseline process ran out of memory).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from 'simple-statistics';
import { LIST_PAGE_SIZE } from '../../shared/kube/pages.js';
import { startApiServer } from '../../sandbox/server-bootstrap.js';
import { bundle, runBundle } from '../function-process.js';
import { populate } from './cluster.js';

const PODS = Number(process.env['BENCH_SCRAPE_PODS'] ?? 10_000);
const NODES = Number(process.env['BENCH_SCRAPE_NODES'] ?? 500);
const SCRAPES = 4;

interface Figures {
  ms: number[];
  cpuMs: number[];
  rssMb: number;
  samples: number;
  batches: number;
}

const server = await startApiServer({ dir: mkdtempSync(join(tmpdir(), 'kurative-bench-scrape-')) });
try {
  populate(server.cluster, PODS, NODES);
  const outfile = 'dist/bench/scrape-run.mjs';
  bundle('bench/scrape/run.ts', outfile);
  /** A scrape process's figures, or the reason it failed (the whole list may not fit the heap). */
  const run = async (pageSize: number, models = false): Promise<Figures | string> => {
    const { code, signal, line } = await runBundle(outfile, {
      KUBECONFIG: server.kubeconfigPath,
      BENCH_PAGE_SIZE: String(pageSize),
      BENCH_SCRAPES: String(SCRAPES),
      BENCH_MODELS: models ? '1' : '0',
    });
    if (code === 0 && line) return JSON.parse(line) as Figures;
    // V8 aborts the process when the heap is full (its message went to stderr, above).
    return signal === 'SIGABRT' || code === 134 ? 'out of memory' : `exit ${code ?? signal}`;
  };
  const paged: (Figures | string)[] = [];
  const models: (Figures | string)[] = [];
  const whole: (Figures | string)[] = [];
  // One page as large as the list: the server sends it whole.
  const everything = PODS + NODES;
  for (let round = 0; round < 2; round++) {
    paged.push(await run(LIST_PAGE_SIZE));
    models.push(await run(everything, true));
    whole.push(await run(everything));
  }
  /** Median time and CPU of a contender's scrapes after each process's first, and its peak RSS. */
  const summary = (runs: (Figures | string)[]) => {
    const done = runs.filter((r): r is Figures => typeof r !== 'string');
    const failure = runs.find((r): r is string => typeof r === 'string');
    if (done.length === 0) return { text: failure ?? 'no run', ms: 'none', cpu: 'none', rss: 'none' };
    const ms = median(done.flatMap((r) => r.ms.slice(1)));
    const cpu = median(done.flatMap((r) => r.cpuMs.slice(1)));
    const rss = Math.max(...done.map((r) => r.rssMb));
    const failed = runs.length - done.length;
    return {
      text: `${Math.round(ms)} ms (cpu ${Math.round(cpu)} ms), peak rss ${Math.round(rss)} MB, ${done[0]?.samples} samples in ${done[0]?.batches} events${failed ? `; ${failed} of ${runs.length} processes failed: ${failure}` : ''}`,
      ms: String(Math.round(ms)),
      cpu: String(Math.round(cpu)),
      rss: String(Math.round(rss)),
    };
  };
  const p = summary(paged);
  const b = summary(models);
  const w = summary(whole);
  console.log(
    `scrape of ${PODS} pods on ${NODES} nodes, ${LIST_PAGE_SIZE} objects a page as JSON: ${p.text}`,
  );
  console.log(`scrape of the same, each list in one response as client-node's models (baseline): ${b.text}`);
  console.log(`scrape of the same, each list in one response as JSON: ${w.text}`);
  console.log(
    `scrape: pods=${PODS} ms=${p.ms} cpu_ms=${p.cpu} rss_mb=${p.rss} baseline_ms=${b.ms} baseline_cpu_ms=${b.cpu} baseline_rss_mb=${b.rss}`,
  );
} finally {
  await server.close();
}
