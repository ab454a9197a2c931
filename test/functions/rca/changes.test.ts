import { describe, expect, it } from 'vitest';
import { definition as rca } from '../../../functions/rca/index.js';
import type { Change } from '../../../functions/rca/changes.js';
import { EVENT_TYPES } from '../../../shared/contracts/index.js';
import type { KubeClients } from '../../../shared/kube/index.js';
import type { InboundEvent } from '../../../shared/runtime/index.js';
import { MemoryStore } from '../../../shared/store/index.js';
import { silentLog, testConfig } from '../../support/runtime.js';

const T0 = Date.UTC(2026, 0, 1, 12);

function apiEvent(type: string, minute: number, data: Record<string, unknown>): InboundEvent {
  return {
    id: `${type}-${minute}`,
    type,
    source: 'test',
    subject: undefined,
    time: new Date(T0 + minute * 60_000).toISOString(),
    incidentId: undefined,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    data,
    extensions: {},
  } as InboundEvent;
}

const configMap = (data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'payment-config', namespace: 'shop' },
  data,
});

describe('rca notes ConfigMap changes from the ApiServerSource', () => {
  it('records an edit, a deletion and the ConfigMap created again, in order', async () => {
    const store = new MemoryStore();
    // Changes need no API calls: a client that would throw proves none is made.
    const deps = { store, kube: {} as KubeClients };
    const handle = (e: InboundEvent) =>
      rca.handle(e as never, { deps, log: silentLog, config: testConfig() });
    expect(await handle(apiEvent(EVENT_TYPES.apiServerUpdate, 0, configMap({ A: '1' })))).toBeUndefined();
    await handle(apiEvent(EVENT_TYPES.apiServerUpdate, 5, configMap({ A: '2' })));
    await handle(apiEvent(EVENT_TYPES.apiServerDelete, 10, configMap({ A: '2' })));
    await handle(apiEvent(EVENT_TYPES.apiServerUpdate, 15, configMap({ A: '2' })));
    const saved = (await store.load<{ changes: Change[] }>(['rca|changes'])).get('rca|changes');
    expect(saved?.value.changes.map((c) => [c.object, (c.at - T0) / 60_000, c.kind, c.description])).toEqual([
      ['ConfigMap/shop/payment-config', 0, 'config', 'ConfigMap updated'],
      [
        'ConfigMap/shop/payment-config',
        5,
        'config',
        expect.stringMatching(/^ConfigMap data changed \(\w{7} → \w{7}\)$/),
      ],
      ['ConfigMap/shop/payment-config', 10, 'config', 'ConfigMap deleted'],
      ['ConfigMap/shop/payment-config', 15, 'config', 'ConfigMap created again'],
    ]);
  });
});
