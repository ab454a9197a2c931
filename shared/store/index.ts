export { updateMany, StoreError } from './store.js';
export type { BaselineStore, CasWrite, Versioned } from './store.js';
export { MemoryStore } from './memory.js';
export { RedisStore } from './redis.js';
export type { RedisStoreOptions } from './redis.js';
export { ConfigMapStore } from './configmap.js';
export type { ConfigMapStoreOptions } from './configmap.js';
export { storeFromConfig, clusterAndStore } from './from-config.js';
export { withStore } from './with-store.js';
