import type { Config } from '../config/index.js';
import type { KubeClients } from '../kube/index.js';
import { ConfigMapStore } from './configmap.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import type { BaselineStore } from './store.js';

/** The store the configuration names (KURATIVE_STORE). */
export function storeFromConfig(config: Config, kube: () => KubeClients): BaselineStore {
  switch (config.store.type) {
    case 'redis':
      return new RedisStore({ url: config.store.redisUrl ?? '' });
    case 'configmap':
      return new ConfigMapStore({ core: kube().core, namespace: config.namespace });
    case 'memory':
      return new MemoryStore();
  }
}

/** What most functions need: the cluster clients and the configured store (built on the same clients). */
export function clusterAndStore(
  config: Config,
  load: (config: Config) => KubeClients,
): { kube: KubeClients; store: BaselineStore } {
  const kube = load(config);
  return { kube, store: storeFromConfig(config, () => kube) };
}
