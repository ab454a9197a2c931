import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pipeline, examplePolicy } from '../cli/pipeline.js';
import { SCENARIOS } from '../test/support/pipeline.js';
import type { Mode } from '../shared/contracts/index.js';
const name = process.argv[2] ?? 'memory-leak';
const mode = (process.argv[3] ?? 'enforce') as Mode;
const s = SCENARIOS.find((x) => x.name === name)!;
const t0 = performance.now();
const p = await Pipeline.start({
  scenario: s, dir: mkdtempSync(join(tmpdir(), 'k-')), mode, inProcess: true,
  policies: [examplePolicy(mode)],
  extraEnv: { LOG_LEVEL: 'silent' },
  onEvent: (e) => {
    if (e.type.includes('decision') || e.type.includes('remediation'))
      console.log(`+${Math.round(p0()?.sandbox.simulator.elapsedMs! / 60000)}m`, e.type, JSON.stringify(e.data).slice(0, 400));
  },
});
function p0() { return p; }
const sim = p.sandbox.simulator;
while (!sim.done) await p.step();
const o = sim.outcome();
console.log(JSON.stringify({ oom: o.oomKills, crit: o.criticalIncidents, critS: o.criticalSeconds, down: o.downtimeSeconds, err: o.errorSeconds, deg: o.degradedSeconds }));
for (const i of sim.cluster.store.list('kurative.dev/incidents')) console.log(i.metadata.name, JSON.stringify((i as any).status.phase), (i as any).status.history?.join('\n  '));
console.log('dead', p.broker.deadLetters.length, p.broker.deadLetters.slice(0,3).map((d: any) => JSON.stringify(d).slice(0, 300)));
console.log('audit', p.sandbox.api.apiServer?.audit?.length);
await p.close();
console.log('wall', Math.round(performance.now() - t0) / 1000);
