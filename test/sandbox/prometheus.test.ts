import { describe, expect, it } from 'vitest';
import { evaluate, parseQuery, type Series } from '../../sandbox/prometheus.js';

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

  it('refuses what it does not serve, with the reason', () => {
    expect(() => parseQuery('rate(http_requests_total[5m])')).toThrow(/unsupported query/);
    expect(() => parseQuery('sum by (pod-name) (x)')).toThrow(/bad label in by/);
  });
});
