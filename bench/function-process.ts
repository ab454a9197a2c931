// Benchmarks that measure a function's memory run its code as the function image does: bundled with
// esbuild (scripts/bundle.mjs) and started with the chart's NODE_OPTIONS, in a process of its own,
// so its peak RSS holds nothing of the bench's own inputs or of tsx.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The NODE_OPTIONS the chart gives every function container (read from the chart, not repeated). */
export const CHART_NODE_OPTIONS = (
  /- name: NODE_OPTIONS\s+value: (.+)/.exec(
    readFileSync('deploy/helm/kurative/templates/_helpers.tpl', 'utf8'),
  )?.[1] ?? ''
)
  .split(/\s+/)
  .filter(Boolean);

/** Bundle `entry` to `outfile` exactly as the function image's entry is bundled. */
export function bundle(entry: string, outfile: string): void {
  const bundled = spawnSync(process.execPath, ['scripts/bundle.mjs', entry, outfile], { stdio: 'inherit' });
  if (bundled.status !== 0) throw new Error(`bundling ${entry} failed`);
}

/**
 * Run a bundle with the chart's NODE_OPTIONS and `env` added to this process's environment: its
 * exit code (or the signal that ended it) and the first line of its output that starts with `{`
 * (stderr is passed through).
 */
export async function runBundle(
  outfile: string,
  env: Record<string, string>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; line: string | undefined; out: string }> {
  const child = spawn(process.execPath, [...CHART_NODE_OPTIONS, outfile], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  return { code, signal, line: out.split('\n').find((l) => l.startsWith('{')), out };
}
