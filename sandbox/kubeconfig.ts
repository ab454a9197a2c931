import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

export interface KubeconfigUser {
  readonly name: string;
  readonly token: string;
}

/** Render a kubeconfig for the sandbox: one cluster (with its CA), one context per user. */
export function renderKubeconfig(
  server: string,
  caCert: string,
  users: readonly KubeconfigUser[],
  current = users[0]?.name ?? 'admin',
): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'sandbox',
        cluster: { server, 'certificate-authority-data': Buffer.from(caCert).toString('base64') },
      },
    ],
    users: users.map((u) => ({ name: u.name, user: { token: u.token } })),
    contexts: users.map((u) => ({
      name: u.name,
      context: { cluster: 'sandbox', user: u.name, namespace: 'default' },
    })),
    'current-context': current,
    preferences: {},
  });
}

export function writeKubeconfig(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content, { mode: 0o600 });
}
