import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startApiServer, type RunningApiServer } from '../../sandbox/server-bootstrap.js';

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
