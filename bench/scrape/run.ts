// One scrape process of `npm run bench:scrape`: bench/scrape/index.ts bundles this file as the
// function image bundles its entry and runs it with the chart's NODE_OPTIONS, so its peak RSS is a
// scrape function's. Scrapes the cluster at KUBECONFIG `BENCH_SCRAPES` times with objects listed
// `BENCH_PAGE_SIZE` a page (through client-node's models with BENCH_MODELS=1), and prints one JSON line: { ms, cpuMs, rssMb, samples, batches }.
import { definition as scrape } from '../../functions/scrape/index.js';
import { parseConfig } from '../../shared/config/index.js';
import { EVENT_TYPES } from '../../shared/contracts/index.js';
import { createKubeClients, loadKubeConfig } from '../../shared/kube/index.js';
import { createLogger } from '../../shared/log/index.js';
import type { ListPage } from '../../shared/kube/pages.js';

const env = process.env;
const config = parseConfig({ KUBECONFIG: env['KUBECONFIG'] });
const kube = createKubeClients(loadKubeConfig(config));
const listPageSize = Number(env['BENCH_PAGE_SIZE']);
/** BENCH_MODELS=1: lists read through client-node's typed API, as scrape read them before 2026-11-29. */
const listPages =
  env['BENCH_MODELS'] === '1'
    ? (path: string): ListPage<unknown> =>
        path === '/api/v1/nodes'
          ? (page) => kube.core.listNode(page)
          : (page) => kube.core.listPodForAllNamespaces(page)
    : undefined;
const log = createLogger({ function: 'scrape' }, 'silent');
const ms: number[] = [];
const cpuMs: number[] = [];
let samples = 0;
let batches = 0;
for (let run = 0; run < Number(env['BENCH_SCRAPES'] ?? 3); run++) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const events = await scrape.handle(
    {
      id: `bench-${run}`,
      source: '/bench',
      type: EVENT_TYPES.ping,
      subject: undefined,
      time: new Date().toISOString(),
      incidentId: undefined,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      data: {},
      extensions: {},
    },
    { deps: { kube, listPageSize, ...(listPages ? { listPages } : {}) }, log, config },
  );
  // Serialised as the runtime sends them.
  const metrics = [events ?? []].flat().filter((e) => e.type === EVENT_TYPES.metrics);
  for (const e of metrics) JSON.stringify(e.data);
  const used = process.cpuUsage(cpu);
  ms.push(performance.now() - started);
  cpuMs.push((used.user + used.system) / 1000);
  batches = metrics.length;
  samples = metrics.reduce((n, e) => n + e.data.samples.length, 0);
}
console.log(
  JSON.stringify({ ms, cpuMs, rssMb: (process.resourceUsage().maxRSS * 1024) / 2 ** 20, samples, batches }),
);
