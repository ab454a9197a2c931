import { stringify } from 'yaml';
import { z } from 'zod';
import {
  Condition,
  DetectorSpec,
  IncidentSpec,
  IncidentStatus,
  KURATIVE_GROUP,
  KURATIVE_VERSION,
} from './resources.js';
import { RemediationPolicySpec, RemediationPolicyStatus } from './policy.js';

type JsonSchema = Record<string, unknown>;

/**
 * A zod schema as a Kubernetes structural OpenAPI schema: `additionalProperties: false` is dropped
 * where `properties` are given (the API server prunes unknown fields instead), as are keywords
 * structural schemas do not allow. What cannot be expressed (cross-field rules) is checked by the
 * functions and reported in status.conditions.
 */
export function toStructuralSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  return clean(json) as JsonSchema;
}

function clean(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(clean);
  if (!node || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node as JsonSchema)) {
    if (k === '$schema' || k === 'id' || k === '$id') continue;
    if (k === 'additionalProperties' && (v === false || (node as JsonSchema)['properties'])) continue;
    out[k] = clean(v);
  }
  if (out['type'] === 'object' && !out['properties'] && !out['additionalProperties'])
    out['x-kubernetes-preserve-unknown-fields'] = true;
  return out;
}

interface CrdOptions {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: string[];
  readonly scope: 'Namespaced' | 'Cluster';
  readonly spec: z.ZodType;
  readonly status: z.ZodType;
  readonly printerColumns: {
    name: string;
    type: string;
    jsonPath: string;
    priority?: number;
    description?: string;
  }[];
}

function crd(o: CrdOptions): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${o.plural}.${KURATIVE_GROUP}`, labels: { 'app.kubernetes.io/part-of': 'kurative' } },
    spec: {
      group: KURATIVE_GROUP,
      scope: o.scope,
      names: {
        kind: o.kind,
        listKind: `${o.kind}List`,
        plural: o.plural,
        singular: o.singular,
        shortNames: o.shortNames,
        categories: ['kurative'],
      },
      versions: [
        {
          name: KURATIVE_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: o.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toStructuralSchema(o.spec),
                status: toStructuralSchema(o.status),
              },
              required: ['spec'],
            },
          },
        },
      ],
    },
  };
}

export const DetectorStatus = z
  .object({
    conditions: z.array(Condition).default([]),
    /** The warm start of a PromQL Detector's series (written by scrape): once per generation. */
    backfill: z
      .object({
        observedGeneration: z.number().int(),
        at: z.string(),
        samples: z.number().int().min(0),
        windowSeconds: z.number().int().min(0),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Every CRD kurative installs, keyed by file name, generated from the zod contracts. */
export function kurativeCrds(): Record<string, Record<string, unknown>> {
  return {
    'detectors.kurative.dev.yaml': crd({
      kind: 'Detector',
      plural: 'detectors',
      singular: 'detector',
      shortNames: ['kdet'],
      scope: 'Cluster',
      spec: DetectorSpec,
      status: DetectorStatus,
      printerColumns: [
        { name: 'Signal', type: 'string', jsonPath: '.spec.signal.metric' },
        { name: 'Algorithm', type: 'string', jsonPath: '.spec.algorithm' },
        { name: 'Sensitivity', type: 'number', jsonPath: '.spec.sensitivity' },
        { name: 'Ready', type: 'string', jsonPath: '.status.conditions[0].status' },
        { name: 'PromQL', type: 'string', jsonPath: '.spec.signal.promql', priority: 1 },
      ],
    }),
    'remediationpolicies.kurative.dev.yaml': crd({
      kind: 'RemediationPolicy',
      plural: 'remediationpolicies',
      singular: 'remediationpolicy',
      shortNames: ['krp'],
      scope: 'Cluster',
      spec: RemediationPolicySpec,
      status: RemediationPolicyStatus,
      printerColumns: [
        { name: 'Mode', type: 'string', jsonPath: '.spec.mode' },
        { name: 'Paused', type: 'boolean', jsonPath: '.spec.paused' },
        { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
        { name: 'Ready', type: 'string', jsonPath: '.status.conditions[0].status' },
        { name: 'Reason', type: 'string', jsonPath: '.status.conditions[0].reason' },
        { name: 'Last Decision', type: 'date', jsonPath: '.status.lastDecisionAt', priority: 1 },
      ],
    }),
    'incidents.kurative.dev.yaml': crd({
      kind: 'Incident',
      plural: 'incidents',
      singular: 'incident',
      shortNames: ['inc'],
      scope: 'Cluster',
      spec: IncidentSpec,
      status: IncidentStatus,
      printerColumns: [
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Severity', type: 'string', jsonPath: '.status.severity' },
        { name: 'Root Cause', type: 'string', jsonPath: '.status.rootCause' },
        { name: 'Class', type: 'string', jsonPath: '.status.faultClass' },
        { name: 'Confidence', type: 'number', jsonPath: '.status.confidence' },
        { name: 'Action', type: 'string', jsonPath: '.status.action' },
        { name: 'Outcome', type: 'string', jsonPath: '.status.outcome' },
        { name: 'Anomalies', type: 'integer', jsonPath: '.status.anomalies', priority: 1 },
        { name: 'Started', type: 'date', jsonPath: '.status.startedAt', priority: 1 },
      ],
    }),
  };
}

/** The YAML text of one CRD as committed under deploy/crds/. */
export function renderCrd(object: Record<string, unknown>): string {
  return `# Generated from shared/contracts by \`npm run generate\`; do not edit.\n${stringify(object, { lineWidth: 0 })}`;
}
