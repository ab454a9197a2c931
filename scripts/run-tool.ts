// Runs a bundled binary (kubectl or helm) from .tools/bin with the caller's arguments.
import { spawnSync } from 'node:child_process';
import { toolPath } from '../shared/tools/index.js';

const [name, ...args] = process.argv.slice(2);
if (name !== 'kubectl' && name !== 'helm') {
  console.error('usage: run-tool.ts kubectl|helm [args...]');
  process.exit(2);
}
const result = spawnSync(toolPath(name), args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
