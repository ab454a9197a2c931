import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import type { RunningApiServer } from '../../../sandbox/server-bootstrap.js';
import { apiFailure } from '../../../shared/kube/index.js';
import { rejectionOf } from '../../support/errors.js';
import { kubeConfigFrom, startTestApiServer } from '../../support/sandbox.js';

let server: RunningApiServer;
let core: k8s.CoreV1Api;

beforeAll(async () => {
  server = await startTestApiServer();
  core = kubeConfigFrom(server).makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'shop' } } });
});
afterAll(async () => {
  await server.close();
});

describe('apiFailure', () => {
  it("words a refused call with the API server's Status message and keeps its status", async () => {
    const error = apiFailure(
      'reading the config',
      await rejectionOf(core.readNamespacedConfigMap({ namespace: 'shop', name: 'nope' })),
    );
    expect(error.status).toBe(500);
    expect(error.code).toBe('ApiError');
    expect(error.message).toBe('reading the config (status 404): configmaps "nope" not found');
    expect(error.message).not.toContain('HTTP-Code');
  });

  it('words an invalid object with the reason the API server gave', async () => {
    const error = apiFailure(
      'creating the config',
      await rejectionOf(
        core.createNamespacedConfigMap({ namespace: 'shop', body: { metadata: { name: 'Not_Valid' } } }),
      ),
    );
    expect(error.message).toMatch(/^creating the config \(status 422\): .*Not_Valid/);
  });

  it('makes an unreachable API server a 503 the broker retries, with the network error', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const offline = kc.makeApiClient(k8s.CoreV1Api);
    const error = apiFailure(
      'listing pods',
      await rejectionOf(offline.listNamespacedPod({ namespace: 'shop' })),
    );
    expect(error.status).toBe(503);
    expect(error.message).toMatch(/^listing pods: .*ECONNREFUSED/);
  });
});
