// The container's entry point (one image for every function, chosen by FUNCTION_TARGET).
// On Knative the functions-framework server runs directly on $PORT. On OpenFaaS (`fprocess` is set by
// stack.yml) of-watchdog runs in front in HTTP mode and starts the same server as its upstream.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const main = join(dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');
const args = [main, `--source=${join(here, 'dist', 'bundle', 'main.mjs')}`, '--signature-type=http'];

// stack.yml sets fprocess to `node /app/entry.mjs --upstream`: the watchdog's child serves on the
// upstream port instead of starting another watchdog.
const upstream = process.argv.includes('--upstream');
const env = upstream
  ? { ...process.env, PORT: new URL(process.env.upstream_url ?? 'http://127.0.0.1:8081').port }
  : process.env;
const child =
  process.env.fprocess && !upstream
    ? spawn('/fwatchdog', [], { stdio: 'inherit' })
    : spawn(process.execPath, args, { stdio: 'inherit', env });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
