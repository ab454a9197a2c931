import { describe, expect, it } from 'vitest';
import { evaluate, evaluateRange, parseQuery, type Series } from '../../sandbox/prometheus.js';

const series: Series[] = [
  {
    name: 'container_fs_usage_bytes',
    labels: { namespace: 's', pod: 'a', container: 'c', device: 'd1' },
    value: 1,
  },
  {
    name: 'container_fs_usage_bytes',
    labels: { namespace: 's', pod: 'a', container: 'c', device: 'd2' },
    value: 2,
  },
  {
    name: 'container_fs_usage_bytes',
    labels: { namespace: 's', pod: 'b', container: '', device: 'd1' },
    value: 4,
  },
  { name: 'http_error_ratio', labels: { namespace: 's', service: 'x' }, value: 0.5 },
];

describe('the sandbox Prometheus query subset', () => {
  it('serves a selector with its metric name, and filters by the matchers', () => {
    expect(evaluate(series, parseQuery('container_fs_usage_bytes{pod="b"}'))).toEqual([
      {
        labels: {
          __name__: 'container_fs_usage_bytes',
          namespace: 's',
          pod: 'b',
          container: '',
          device: 'd1',
        },
        value: 4,
      },
    ]);
  });

  it('sums by labels, dropping the metric name and every other label', () => {
    expect(
      evaluate(
        series,
        parseQuery('sum by (namespace, pod, container) (container_fs_usage_bytes{container!=""})'),
      ),
    ).toEqual([{ labels: { namespace: 's', pod: 'a', container: 'c' }, value: 3 }]);
  });

  it('takes the largest by labels (a claim reported by two nodes is one series)', () => {
    const stats = (node: string, value: number): Series => ({
      name: 'kubelet_volume_stats_used_bytes',
      labels: { namespace: 's', persistentvolumeclaim: 'data', node },
      value,
    });
    expect(
      evaluate(
        [stats('n1', 5), stats('n2', 7)],
        parseQuery('max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes)'),
      ),
    ).toEqual([{ labels: { namespace: 's', persistentvolumeclaim: 'data' }, value: 7 }]);
  });

  it('answers a range from the snapshots: the latest within five minutes of each step, gaps left out', () => {
    const snap = (minute: number, value: number) => ({
      atMs: minute * 60_000,
      series: [{ name: 'http_error_ratio', labels: { namespace: 's', service: 'x' }, value }],
    });
    // Snapshots at minutes 0, 1, 2, then none until 20.
    const history = [snap(0, 0.1), snap(1, 0.2), snap(2, 0.3), snap(20, 0.9)];
    const result = evaluateRange(history, parseQuery('http_error_ratio'), {
      startMs: 0,
      endMs: 20 * 60_000,
      stepMs: 4 * 60_000,
    });
    expect(result).toEqual([
      {
        labels: { __name__: 'http_error_ratio', namespace: 's', service: 'x' },
        values: [
          [0, '0.1'],
          [240, '0.3'], // minute 4 sees minute 2's
          [20 * 60, '0.9'], // minutes 8–16: nothing within five minutes
        ],
      },
    ]);
  });

  it('refuses what it does not serve, with the reason', () => {
    expect(() => parseQuery('rate(http_requests_total[5m])')).toThrow(/unsupported query/);
    expect(() => parseQuery('sum by (pod-name) (x)')).toThrow(/bad label in by/);
  });
});
