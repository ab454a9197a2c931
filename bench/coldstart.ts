// Cold start of one kurative function process (process start → first 2xx) against a bare
// functions-framework hello-world measured in the same run. Prints medians over several starts.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from 'simple-statistics';
import { freePort, FUNCTIONS_FRAMEWORK_MAIN, FUNCTIONS_SOURCE, waitForHttp } from '../cli/processes.js';
import { startApiServer } from '../sandbox/server-bootstrap.js';

const RUNS = Number(process.env['COLDSTART_RUNS'] ?? 7);
const dir = mkdtempSync(join(tmpdir(), 'kurative-coldstart-'));
// The baseline: the smallest functions-framework HTTP function, as an ESM module like ours.
writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
writeFileSync(
  join(dir, 'hello.js'),
  "import { http } from '@google-cloud/functions-framework';\nhttp('hello', (req, res) => { res.send('ok'); });\n",
);
process.env['NODE_PATH'] = join(process.cwd(), 'node_modules');

async function coldStart(
  target: string,
  source: string,
  env: Record<string, string>,
  path: string,
): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      FUNCTIONS_FRAMEWORK_MAIN,
      `--target=${target}`,
      `--source=${source}`,
      `--port=${port}`,
      '--signature-type=http',
    ],
    {
      env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'production', LOG_LEVEL: 'silent', ...env },
      stdio: 'ignore',
    },
  );
  try {
    await waitForHttp(`http://127.0.0.1:${port}${path}`, 30_000);
    return performance.now() - started;
  } finally {
    child.kill('SIGKILL');
  }
}

const api = await startApiServer({ dir });
// The hello module must resolve functions-framework from the repo's node_modules.
writeFileSync(
  join(dir, 'hello.js'),
  `import { http } from '${join(process.cwd(), 'node_modules/@google-cloud/functions-framework/build/src/index.js')}';\nhttp('hello', (req, res) => { res.send('ok'); });\n`,
);
const baseline: number[] = [];
const kurative: number[] = [];
for (let i = 0; i < RUNS; i++) {
  // Interleave so both see the same machine state.
  baseline.push(await coldStart('hello', join(dir, 'hello.js'), {}, '/'));
  kurative.push(
    await coldStart(
      'scrape',
      FUNCTIONS_SOURCE,
      { FUNCTION_TARGET: 'scrape', KUBECONFIG: api.kubeconfigPath },
      '/_/health',
    ),
  );
}
await api.close();
const b = median(baseline);
const k = median(kurative);
console.log(
  `coldstart runs=${RUNS} kurative_ms=[${kurative.map((x) => x.toFixed(0)).join(',')}] baseline_ms=[${baseline.map((x) => x.toFixed(0)).join(',')}]`,
);
console.log(`coldstart: ratio=${(k / b).toFixed(2)} kurative_ms=${k.toFixed(0)} baseline_ms=${b.toFixed(0)}`);
