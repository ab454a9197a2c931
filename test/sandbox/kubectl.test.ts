import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../../sandbox/sandbox.js';
import { parseScenario } from '../../sandbox/simulator/scenario.js';
import { kubectl, kubectlAvailable, kubectlWatch } from '../support/kubectl.js';

const SCENARIO = parseScenario(`
name: kubectl-fixture
description: three nodes and one web deployment guarded by a PDB
seed: 5
duration: 1h
cluster:
  nodePools: [{ prefix: node, count: 3, cpu: "4", memory: 8Gi }]
workloads:
  - name: web
    namespace: default
    replicas: 3
    image: web:1
    requests: { cpu: 100m, memory: 64Mi }
    limits: { cpu: 500m, memory: 256Mi }
    behaviour: { cpu: 20m, memory: 50Mi, rps: 10 }
    pdb: { minAvailable: 2 }
  - name: db
    namespace: data
    kind: StatefulSet
    replicas: 2
    image: db:1
    requests: { cpu: 100m, memory: 64Mi }
    behaviour: { cpu: 20m, memory: 50Mi, rps: 10 }
truth: { faultClass: benign, actionWanted: false }
`);

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, shortNames: [wd] }
  versions:
    - name: v1
      served: true
      storage: true
      subresources: { status: {} }
      additionalPrinterColumns:
        - { name: Size, type: integer, jsonPath: .spec.size }
        - { name: Colour, type: string, jsonPath: .spec.colour }
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size: { type: integer, minimum: 1 }
                colour: { type: string, enum: [red, blue] }
`;

let sandbox: Sandbox;
let kc: string;
let dir: string;
const run = (...args: string[]) => kubectl(kc, args);

describe.runIf(kubectlAvailable)('the real kubectl against the sandbox', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kurative-kubectl-'));
    sandbox = await Sandbox.start({ scenario: SCENARIO, dir });
    kc = sandbox.kubeconfigPath;
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('applies a CRD and a custom resource (with strict validation) and prints its columns', async () => {
    writeFileSync(join(dir, 'crd.yaml'), CRD);
    writeFileSync(
      join(dir, 'w.yaml'),
      'apiVersion: example.com/v1\nkind: Widget\nmetadata: { name: w1 }\nspec: { size: 3, colour: red }\n',
    );
    expect(await run('apply', '-f', join(dir, 'crd.yaml'))).toMatchObject({
      code: 0,
      stdout: 'customresourcedefinition.apiextensions.k8s.io/widgets.example.com created\n',
    });
    expect(await run('apply', '-f', join(dir, 'w.yaml'))).toMatchObject({
      code: 0,
      stdout: 'widget.example.com/w1 created\n',
    });
    expect((await run('apply', '-f', join(dir, 'w.yaml'))).stdout).toBe('widget.example.com/w1 unchanged\n');
    const get = await run('get', 'wd');
    expect(get.stdout.split('\n')[0]).toMatch(/^NAME\s+SIZE\s+COLOUR\s+AGE$/);
    expect(get.stdout.split('\n')[1]).toMatch(/^w1\s+3\s+red\s+\S+$/);
    writeFileSync(
      join(dir, 'bad.yaml'),
      'apiVersion: example.com/v1\nkind: Widget\nmetadata: { name: w2 }\nspec: { size: 0, colour: green }\n',
    );
    const bad = await run('apply', '-f', join(dir, 'bad.yaml'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/spec.size/);
    expect(bad.stderr).toMatch(/spec.colour/);
  });

  it('prints claims and StorageClasses as kubectl does, and refuses a resize the class does not allow', async () => {
    writeFileSync(
      join(dir, 'storage.yaml'),
      [
        'apiVersion: storage.k8s.io/v1',
        'kind: StorageClass',
        'metadata: { name: fixed }',
        'provisioner: ebs.csi.aws.com',
        '---',
        'apiVersion: v1',
        'kind: PersistentVolumeClaim',
        'metadata: { name: data, namespace: default }',
        'spec: { accessModes: [ReadWriteOnce], storageClassName: fixed, resources: { requests: { storage: 1Gi } } }',
        '',
      ].join('\n'),
    );
    expect((await run('apply', '-f', join(dir, 'storage.yaml'))).code).toBe(0);
    const claims = (await run('get', 'pvc')).stdout.split('\n');
    expect(claims[0]).toMatch(/^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+AGE$/);
    expect(claims[1]).toMatch(/^data\s+Pending\s+fixed\s+\S+$/);
    const classes = (await run('get', 'sc')).stdout.split('\n');
    expect(classes[0]).toMatch(
      /^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE$/,
    );
    expect(classes[1]).toMatch(/^fixed\s+ebs.csi.aws.com\s+Delete\s+Immediate\s+false\s+\S+$/);
    const resize = await run(
      'patch',
      'pvc',
      'data',
      '-p',
      '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}',
    );
    expect(resize.code).not.toBe(0);
    expect(resize.stderr).toMatch(/storageclass that provisions the pvc must support resize/);
  });

  it('lists pods with the real columns and describes one with its events', async () => {
    const pods = await run('get', 'pods', '-o', 'wide');
    expect(pods.stdout.split('\n')[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/);
    expect(pods.stdout).toMatch(/web-\S+\s+1\/1\s+Running\s+0/);
    const name = (await run('get', 'pods', '-o', 'jsonpath={.items[0].metadata.name}')).stdout;
    const describe = await run('describe', 'pod', name);
    expect(describe.code).toBe(0);
    expect(describe.stdout).toMatch(/Controlled By:\s+ReplicaSet\/web-/);
    expect(describe.stdout).toMatch(/Normal\s+Scheduled\s+.*default-scheduler/);
    expect(describe.stdout).toMatch(/Started container app/);
  });

  it('shows top pods from metrics.k8s.io', async () => {
    const top = await run('top', 'pods');
    expect(top.code).toBe(0);
    expect(top.stdout.split('\n')[0]).toMatch(/^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);
    expect(top.stdout).toMatch(/web-\S+\s+\d+m\s+\d+Mi/);
    expect((await run('top', 'nodes')).stdout).toMatch(/node-1\s+\d+m\s+\d+%/);
  });

  it('streams changes with get -w', async () => {
    const watch = kubectlWatch(kc, ['get', 'deployments', '-w']);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await run('scale', 'deployment/web', '--replicas=4')).stdout).toBe(
      'deployment.apps/web scaled\n',
    );
    for (let i = 0; i < 6; i++) sandbox.step();
    await new Promise((r) => setTimeout(r, 1000));
    await watch.stop();
    expect(watch.lines[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/);
    expect(watch.lines.some((l) => /^web\s+4\/4/.test(l))).toBe(true);
  });

  it('rolls a deployment back with rollout undo', async () => {
    expect((await run('set', 'image', 'deployment/web', 'app=web:2')).code).toBe(0);
    for (let i = 0; i < 30; i++) sandbox.step();
    expect(
      (await run('get', 'deploy', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}')).stdout,
    ).toBe('web:2');
    const undo = await run('rollout', 'undo', 'deployment/web');
    expect(undo).toMatchObject({ code: 0, stdout: 'deployment.apps/web rolled back\n' });
    for (let i = 0; i < 30; i++) sandbox.step();
    expect(
      (await run('get', 'deploy', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}')).stdout,
    ).toBe('web:1');
    const images = (
      await run('get', 'pods', '-o', 'jsonpath={.items[*].spec.containers[0].image}')
    ).stdout.split(' ');
    expect(new Set(images)).toEqual(new Set(['web:1']));
  });

  it('rolls a StatefulSet out and back with set image, rollout history and rollout undo', async () => {
    const image = async () =>
      (
        await run(
          'get',
          'sts',
          'db',
          '-n',
          'data',
          '-o',
          'jsonpath={.spec.template.spec.containers[0].image}',
        )
      ).stdout;
    const podImages = async () =>
      new Set(
        (
          await run('get', 'pods', '-n', 'data', '-o', 'jsonpath={.items[*].spec.containers[0].image}')
        ).stdout.split(' '),
      );
    expect((await run('set', 'image', 'statefulset/db', 'app=db:2', '-n', 'data')).code).toBe(0);
    for (let i = 0; i < 30; i++) sandbox.step();
    expect(await podImages()).toEqual(new Set(['db:2']));
    const history = await run('rollout', 'history', 'statefulset/db', '-n', 'data');
    expect(history.stdout).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    const undo = await run('rollout', 'undo', 'statefulset/db', '-n', 'data');
    expect(undo).toMatchObject({ code: 0, stdout: 'statefulset.apps/db rolled back\n' });
    expect(await image()).toBe('db:1');
    for (let i = 0; i < 30; i++) sandbox.step();
    expect(await podImages()).toEqual(new Set(['db:1']));
    const status = await run('rollout', 'status', 'statefulset/db', '-n', 'data', '--watch=false');
    // What kubectl prints for the API server's default strategy (RollingUpdate, partition 0).
    expect(status).toMatchObject({
      code: 0,
      stdout: 'partitioned roll out complete: 2 new pods have been updated...\n',
    });
  });

  it('cordons a node, and drains another while the PDB holds', async () => {
    expect((await run('cordon', 'node-3')).stdout).toBe('node/node-3 cordoned\n');
    expect((await run('get', 'node', 'node-3')).stdout).toMatch(/Ready,SchedulingDisabled/);
    expect((await run('uncordon', 'node-3')).stdout).toBe('node/node-3 uncordoned\n');
    // Tighten the PDB so that draining the busiest node must wait for replacements to become ready.
    expect((await run('patch', 'pdb', 'web', '--type=merge', '-p', '{"spec":{"minAvailable":3}}')).code).toBe(
      0,
    );
    const nodes = (await run('get', 'pods', '-o', 'jsonpath={.items[*].spec.nodeName}')).stdout.split(' ');
    const counts = new Map<string, number>();
    for (const n of nodes) counts.set(n, (counts.get(n) ?? 0) + 1);
    const [busiest] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ['node-1', 0];
    expect(counts.get(busiest)).toBeGreaterThanOrEqual(2);
    sandbox.run(30); // evicted pods are replaced and become ready elsewhere while kubectl retries
    const drain = await kubectl(
      kc,
      ['drain', busiest, '--ignore-daemonsets', '--timeout=90s'],
      undefined,
      120_000,
    );
    sandbox.stop();
    expect(drain.code).toBe(0);
    expect(drain.stdout).toMatch(new RegExp(`node/${busiest} drained`));
    expect(drain.stdout).toMatch(/evicted/);
    expect(drain.stderr).toMatch(/would violate the pod's disruption budget/);
    expect(
      (await run('get', 'pods', '--field-selector', `spec.nodeName=${busiest}`, '-o', 'name')).stdout.trim(),
    ).toBe('');
    const evictions = sandbox.api.apiServer.audit.filter((a) => a.subresource === 'eviction');
    expect(evictions.some((a) => a.code === 429)).toBe(true);
    expect(evictions.filter((a) => a.code === 201).length).toBe(counts.get(busiest));
  }, 150_000);
});
