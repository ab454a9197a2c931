import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { repoRoot } from '../shared/tools/index.js';

const require = createRequire(import.meta.url);

/** The functions-framework CLI entry (what `npx functions-framework` runs). */
export const FUNCTIONS_FRAMEWORK_MAIN = join(
  dirname(require.resolve('@google-cloud/functions-framework')),
  'main.js',
);
/** The compiled entry every kurative function process loads. */
export const FUNCTIONS_SOURCE = join(repoRoot, 'dist', 'bundle', 'main.mjs');

export interface FunctionProcess {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  /** CPU time the process has used so far (user + system), where the OS tells (Linux /proc). */
  cpuMs(): number | undefined;
  stop(): Promise<void>;
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Poll `url` until it answers 2xx or the deadline passes. */
export async function waitForHttp(url: string, timeoutMs = 20_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return performance.now() - started;
    } catch {
      /* not up yet */
    }
    if (performance.now() - started > timeoutMs)
      throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Start one function as a real functions-framework HTTP server in its own process, with the env
 * a Knative Service would give it, and wait until its health endpoint answers.
 */
export async function startFunctionProcess(
  name: string,
  env: Record<string, string>,
  options: { port?: number; source?: string; onLine?: (line: string) => void } = {},
): Promise<FunctionProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(
    process.execPath,
    [
      FUNCTIONS_FRAMEWORK_MAIN,
      `--target=${name}`,
      `--source=${options.source ?? FUNCTIONS_SOURCE}`,
      `--port=${port}`,
      '--signature-type=http',
    ],
    {
      env: {
        PATH: process.env['PATH'] ?? '',
        NODE_ENV: 'production',
        ...env,
        FUNCTION_TARGET: name,
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) options.onLine?.(line);
  };
  child.stdout.on('data', forward);
  child.stderr.on('data', forward);
  const url = `http://127.0.0.1:${port}/`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`function ${name} exited with code ${code}`))),
  );
  await Promise.race([waitForHttp(`${url}_/health`), exited]);
  return {
    name,
    url,
    child,
    cpuMs: () => processCpuMs(child.pid),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** utime + stime of a process from /proc/<pid>/stat (clock ticks of 10 ms), undefined elsewhere. */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command name start at field 3 (state): utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
