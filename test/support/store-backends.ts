import { afterAll, beforeAll } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import type { RunningApiServer } from '../../sandbox/server-bootstrap.js';
import { redisAvailable, startRedis, type RedisProcess } from './redis.js';
import { kubeConfigFrom, startTestApiServer } from './sandbox.js';

/** What the store implementations run against in a test file. */
export interface StoreBackends {
  /** A private redis-server (undefined when Redis is not installed off CI). */
  readonly redis: RedisProcess | undefined;
  /** A sandbox API server's core client, with the `kurative` namespace created. */
  readonly core: k8s.CoreV1Api;
}

/**
 * Start the stores' backends once for the calling test file (beforeAll) and stop them after it.
 * Read the fields inside tests or store factories, not at the top level: they are set by then.
 */
export function useStoreBackends(): StoreBackends {
  let redis: RedisProcess | undefined;
  let api: RunningApiServer | undefined;
  let core: k8s.CoreV1Api | undefined;
  beforeAll(async () => {
    if (redisAvailable) redis = await startRedis();
    api = await startTestApiServer();
    core = kubeConfigFrom(api).makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'kurative' } } });
  });
  afterAll(async () => {
    await redis?.stop();
    await api?.close();
  });
  return {
    get redis() {
      return redis;
    },
    get core() {
      if (!core) throw new Error('store backends are read before beforeAll ran');
      return core;
    },
  };
}
