import { join } from 'node:path';
import { Cluster } from './apiserver/cluster.js';
import { ApiServer } from './apiserver/server.js';
import { renderKubeconfig, writeKubeconfig } from './kubeconfig.js';
import { createSandboxTls, type SandboxTls } from './tls.js';

export interface RunningApiServer {
  readonly url: string;
  readonly kubeconfigPath: string;
  readonly cluster: Cluster;
  readonly apiServer: ApiServer;
  readonly tls: SandboxTls;
  /** A kubeconfig (as a string) that authenticates as the given service account. */
  kubeconfigFor(namespace: string, serviceAccount: string): string;
  close(): Promise<void>;
}

let cachedTls: Promise<SandboxTls> | undefined;

/** Start the sandbox API server over HTTPS on a local port and write an admin kubeconfig. */
export async function startApiServer(options: {
  dir: string;
  /** The cluster to serve (the simulator's); a bare one when omitted. */
  cluster?: Cluster;
  port?: number;
  podLogs?: (ns: string, name: string) => string;
}): Promise<RunningApiServer> {
  // Key generation is slow-ish; one CA per process is enough for a sandbox.
  cachedTls ??= createSandboxTls();
  const tls = await cachedTls;
  const cluster = options.cluster ?? new Cluster();
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    if (!cluster.store.peek('/namespaces', undefined, ns)) {
      cluster.create(cluster.kind('v1', 'Namespace'), {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns },
      });
    }
  }
  const apiServer = new ApiServer({ cluster, tls, ...(options.podLogs ? { podLogs: options.podLogs } : {}) });
  const url = await apiServer.listen(options.port ?? 0);
  const kubeconfigPath = join(options.dir, 'kubeconfig');
  writeKubeconfig(
    kubeconfigPath,
    renderKubeconfig(url, tls.caCert, [{ name: 'admin', token: apiServer.adminToken }]),
  );
  return {
    url,
    kubeconfigPath,
    cluster,
    apiServer,
    tls,
    kubeconfigFor: (namespace, serviceAccount) =>
      renderKubeconfig(url, tls.caCert, [
        {
          name: `${namespace}-${serviceAccount}`,
          token: apiServer.serviceAccountToken(namespace, serviceAccount),
        },
      ]),
    close: () => apiServer.close(),
  };
}
