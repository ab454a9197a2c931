import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { installKurative } from '../../cli/pipeline.js';
import { Sandbox } from '../../sandbox/sandbox.js';
import { startApiServer, type RunningApiServer } from '../../sandbox/server-bootstrap.js';
import { createKubeClients, loadKubeConfig, type KubeClients } from '../../shared/kube/index.js';
import { jsonPages } from '../../shared/kube/json-pages.js';
import type { ListPage } from '../../shared/kube/pages.js';
import type { Scenario } from '../../sandbox/simulator/scenario.js';
import { scenario } from './pipeline.js';

/** Start a bare sandbox API server in a temp dir. */
export async function startTestApiServer(): Promise<RunningApiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'kurative-test-'));
  return startApiServer({ dir });
}

export function kubeConfigFrom(
  server: RunningApiServer,
  asServiceAccount?: { namespace: string; name: string },
): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (asServiceAccount)
    kc.loadFromString(server.kubeconfigFor(asServiceAccount.namespace, asServiceAccount.name));
  else kc.loadFromFile(server.kubeconfigPath);
  return kc;
}

/**
 * A sandbox running the scenario (by name or as given) with kurative's CRDs and default Detectors installed,
 * `steps` simulator steps in (12 = two minutes: every pod running and ready), and clients for its
 * API server. The caller closes it.
 */
export async function startWithKurative(
  which: string | Scenario,
  steps: number,
): Promise<{ sandbox: Sandbox; kube: KubeClients }> {
  const run = typeof which === 'string' ? scenario(which) : which;
  const sandbox = await Sandbox.start({
    scenario: run,
    dir: mkdtempSync(join(tmpdir(), `k-${run.name}-`)),
  });
  installKurative(sandbox);
  for (let i = 0; i < steps; i++) sandbox.step();
  return { sandbox, kube: createKubeClients(loadKubeConfig({ kubeconfig: sandbox.kubeconfigPath })) };
}

/** One list request, as `recordingJsonPages` records it. */
export interface PageRequest {
  readonly path: string;
  readonly limit: number;
  readonly continued: boolean;
}

/** The API server's JSON pages (`jsonPages`), each request recorded in `requests`. */
export function recordingJsonPages(
  kubeConfig: k8s.KubeConfig,
  requests: PageRequest[],
): (path: string) => ListPage<unknown> {
  return (path) => {
    const read = jsonPages(kubeConfig, path);
    return (page) => {
      requests.push({ path, limit: page.limit, continued: page._continue !== undefined });
      return read(page);
    };
  };
}
