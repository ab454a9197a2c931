// A large synthetic cluster for `npm run bench:scrape`: pods shaped like a real cluster's (managed
// fields, probes, env, volumes, tolerations, statuses: ~3.5 KB of JSON each, where a real pod is
// 3–10 KB), spread over namespaces and nodes, with the metrics.k8s.io objects metrics-server would
// serve for them.
import type { Cluster } from '../../sandbox/apiserver/cluster.js';
import type { KubeObject } from '../../sandbox/apiserver/types.js';

const T = '2026-11-01T10:00:00Z';

function pod(i: number, nodes: number): KubeObject {
  const app = `web-${i % 300}`;
  const hash = (i * 2654435761) % 99991;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${app}-${hash}-${i}`,
      namespace: `ns-${i % 100}`,
      labels: { app, 'pod-template-hash': String(hash), tier: i % 2 ? 'frontend' : 'backend' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': T, 'prometheus.io/scrape': 'true' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `${app}-${hash}`,
          uid: `rs-${hash}`,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          time: T,
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:generateName': {}, 'f:labels': { '.': {}, 'f:app': {} } },
            'f:spec': {
              'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:resources': {} } },
            },
          },
        },
        {
          manager: 'kubelet',
          operation: 'Update',
          apiVersion: 'v1',
          time: T,
          fieldsType: 'FieldsV1',
          subresource: 'status',
          fieldsV1: { 'f:status': { 'f:conditions': {}, 'f:containerStatuses': {}, 'f:phase': {} } },
        },
      ],
    },
    spec: {
      nodeName: `node-${i % nodes}`,
      serviceAccountName: 'default',
      restartPolicy: 'Always',
      containers: [
        {
          name: 'app',
          image: 'registry.example.com/web:1.2.3',
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          env: [
            { name: 'LOG_LEVEL', value: 'info' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
          ],
          resources: { limits: { cpu: '500m', memory: '512Mi' }, requests: { cpu: '100m', memory: '256Mi' } },
          volumeMounts: [
            {
              name: 'kube-api-access',
              mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
              readOnly: true,
            },
          ],
          readinessProbe: {
            httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' },
            periodSeconds: 10,
            failureThreshold: 3,
          },
        },
      ],
      volumes: [
        {
          name: 'kube-api-access',
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            ],
          },
        },
      ],
      tolerations: ['not-ready', 'unreachable'].map((why) => ({
        key: `node.kubernetes.io/${why}`,
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      })),
    },
    status: {
      phase: 'Running',
      hostIP: '10.0.0.1',
      podIP: `10.1.${(i >> 8) & 255}.${i & 255}`,
      startTime: T,
      qosClass: 'Burstable',
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type,
        status: 'True',
        lastTransitionTime: T,
      })),
      containerStatuses: [
        {
          name: 'app',
          ready: true,
          started: true,
          restartCount: i % 7 === 0 ? 1 : 0,
          image: 'registry.example.com/web:1.2.3',
          imageID: 'registry.example.com/web@sha256:0123456789abcdef0123456789abcdef',
          containerID: `containerd://${hash}`,
          state: { running: { startedAt: T } },
        },
      ],
    },
  };
}

function node(i: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: `node-${i}`, labels: { 'kubernetes.io/hostname': `node-${i}` } },
    status: {
      capacity: { cpu: '16', memory: '64Gi', pods: '110' },
      allocatable: { cpu: '15800m', memory: '62Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: T }],
      // A real node lists the images it holds: often the largest part of its object.
      images: Array.from({ length: 30 }, (_, k) => ({
        names: [
          `registry.example.com/image-${k}@sha256:${'0'.repeat(64)}`,
          `registry.example.com/image-${k}:v${k}`,
        ],
        sizeBytes: 100_000_000 + k,
      })),
    },
  };
}

/** Fill `cluster` with `pods` pods on `nodes` nodes, and serve their usage as metrics-server would. */
export function populate(cluster: Cluster, pods: number, nodes: number): void {
  const namespace = cluster.kind('v1', 'Namespace');
  for (let n = 0; n < 100; n++)
    cluster.create(namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${n}` } });
  const nodeType = cluster.kind('v1', 'Node');
  for (let i = 0; i < nodes; i++) cluster.create(nodeType, node(i));
  const podType = cluster.kind('v1', 'Pod');
  const podMetrics: KubeObject[] = [];
  for (let i = 0; i < pods; i++) {
    const created = cluster.create(podType, pod(i, nodes));
    podMetrics.push({
      apiVersion: 'metrics.k8s.io/v1beta1',
      kind: 'PodMetrics',
      metadata: { name: created.metadata.name, namespace: created.metadata.namespace },
      timestamp: T,
      window: '30s',
      containers: [{ name: 'app', usage: { cpu: `${20 + (i % 50)}m`, memory: `${200 + (i % 100)}Mi` } }],
    });
  }
  const nodeMetrics = Array.from({ length: nodes }, (_, i) => ({
    apiVersion: 'metrics.k8s.io/v1beta1',
    kind: 'NodeMetrics',
    metadata: { name: `node-${i}` },
    timestamp: T,
    window: '30s',
    usage: { cpu: '4', memory: '20Gi' },
  }));
  cluster.metrics = (resource, ns) =>
    resource === 'nodes'
      ? nodeMetrics
      : ns === undefined
        ? podMetrics
        : podMetrics.filter((m) => m.metadata.namespace === ns);
}
