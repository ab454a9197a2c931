import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import type { RunningApiServer } from '../../../sandbox/server-bootstrap.js';
import { apiFailure, statusOf } from '../../../shared/kube/index.js';
import { jsonPages } from '../../../shared/kube/json-pages.js';
import { listInPages } from '../../../shared/kube/pages.js';
import { rejectionOf } from '../../support/errors.js';
import { kubeConfigFrom, startTestApiServer } from '../../support/sandbox.js';

let server: RunningApiServer;
let kc: k8s.KubeConfig;

beforeAll(async () => {
  server = await startTestApiServer();
  kc = kubeConfigFrom(server);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  for (const namespace of ['shop', 'pay']) {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    for (let i = 0; i < 3; i++)
      await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: `cm-${i}`, labels: { n: String(i) } }, data: { k: `v${i}` } },
      });
  }
});
afterAll(async () => {
  await server.close();
});

describe('jsonPages', () => {
  it("reads a list's pages as the API server's JSON, the same objects client-node reads", async () => {
    const viaClient = (await kc.makeApiClient(k8s.CoreV1Api).listConfigMapForAllNamespaces()).items;
    const json = await listInPages(jsonPages(kc, '/api/v1/configmaps'), (o) => o as k8s.V1ConfigMap, {
      pageSize: 2,
    });
    expect(json.length).toBeGreaterThanOrEqual(6);
    expect(json.map((c) => `${c.metadata?.namespace}/${c.metadata?.name}`)).toEqual(
      viaClient.map((c) => `${c.metadata?.namespace}/${c.metadata?.name}`),
    );
    expect(json.find((c) => c.metadata?.namespace === 'pay' && c.metadata.name === 'cm-2')).toMatchObject({
      metadata: { labels: { n: '2' } },
      data: { k: 'v2' },
    });
    // Plain JSON: times stay strings (client-node makes them Dates).
    expect(typeof json[0]?.metadata?.creationTimestamp).toBe('string');
  });

  it('hands on a page and its continue token as client-node names them', async () => {
    const first = await jsonPages(kc, '/api/v1/namespaces/shop/configmaps')({ limit: 2 });
    expect(first.items.length).toBe(2);
    expect(first.metadata?._continue).toBeTruthy();
    const rest = await jsonPages(
      kc,
      '/api/v1/namespaces/shop/configmaps',
    )({
      limit: 2,
      _continue: first.metadata?._continue ?? '',
    });
    expect(rest.items.length).toBeGreaterThan(0);
    expect(rest.metadata?._continue).toBeUndefined();
  });

  it("rejects a refused list as client-node does: its status and the API server's words", async () => {
    const noRights = new k8s.KubeConfig();
    noRights.loadFromString(server.kubeconfigFor('shop', 'nobody'));
    const error = await rejectionOf(jsonPages(noRights, '/api/v1/pods')({ limit: 10 }));
    expect(error).toBeInstanceOf(k8s.ApiException);
    expect(statusOf(error)).toBe(403);
    expect(apiFailure('reading the cluster', error).message).toMatch(
      /^reading the cluster \(status 403\): .*"pods" is forbidden/,
    );
    expect(statusOf(await rejectionOf(jsonPages(kc, '/api/v1/nopes')({ limit: 10 })))).toBe(404);
  });

  it("keeps a path the server's URL carries (a proxy's prefix) before the API path", async () => {
    const prefixed = new k8s.KubeConfig();
    prefixed.loadFromString(
      readFileSync(server.kubeconfigPath, 'utf8').replace(server.url, `${server.url}/prefix`),
    );
    expect(prefixed.getCurrentCluster()?.server).toBe(`${server.url}/prefix`);
    // The sandbox serves nothing under /prefix: a 404, where the path resolved over it is served.
    expect(statusOf(await rejectionOf(jsonPages(prefixed, '/api/v1/pods')({ limit: 1 })))).toBe(404);
  });

  it('leaves an unreachable API server a network error, which apiFailure makes a 503', async () => {
    const away = new k8s.KubeConfig();
    away.loadFromString(server.kubeconfigFor('shop', 'nobody').replace(server.url, 'https://127.0.0.1:1'));
    const error = await rejectionOf(jsonPages(away, '/api/v1/pods')({ limit: 1 }));
    expect(statusOf(error)).toBeUndefined();
    expect(apiFailure('reading the cluster', error).status).toBe(503);
  });
});
