import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../../shared/tools/index.js';
import { HELM } from './kubectl.js';

export const CHART = join(repoRoot, 'deploy', 'helm', 'kurative');

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the real helm binary; never throws on a non-zero exit. */
export function helm(args: string[]): Promise<HelmResult> {
  return new Promise((resolve) => {
    execFile(
      HELM,
      args,
      {
        timeout: 60_000,
        maxBuffer: 32 * 1024 * 1024,
        env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp' },
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** `helm template` of the chart (release kurative in namespace kurative) as parsed objects. */
export async function renderChart(set: string[] = [], extra: string[] = []): Promise<K8sObject[]> {
  const r = await helm([
    'template',
    'kurative',
    CHART,
    '--namespace',
    'kurative',
    '--include-crds',
    ...set.flatMap((s) => ['--set', s]),
    ...extra,
  ]);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}
