import type { StatusCause } from './types.js';

/** The subset of a structural OpenAPI v3 schema that CRDs use (apiextensions.k8s.io/v1). */
export interface OpenApiSchema {
  type?: string;
  properties?: Record<string, OpenApiSchema>;
  items?: OpenApiSchema;
  required?: string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  nullable?: boolean;
  additionalProperties?: boolean | OpenApiSchema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  anyOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
}

function jsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function checkNumber(value: number, schema: OpenApiSchema, at: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const { minimum, maximum } = schema;
  if (minimum !== undefined && (value < minimum || (schema.exclusiveMinimum && value === minimum))) {
    causes.push({
      field: at,
      message: `Invalid value: ${value}: ${at} in body should be greater than or equal to ${minimum}`,
    });
  }
  if (maximum !== undefined && (value > maximum || (schema.exclusiveMaximum && value === maximum))) {
    causes.push({
      field: at,
      message: `Invalid value: ${value}: ${at} in body should be less than or equal to ${maximum}`,
    });
  }
  return causes;
}

function checkString(value: string, schema: OpenApiSchema, at: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (schema.minLength !== undefined && value.length < schema.minLength) {
    causes.push({
      field: at,
      message: `Invalid value: "${value}": ${at} in body should be at least ${schema.minLength} chars long`,
    });
  }
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    causes.push({
      field: at,
      message: `Too long: may not be more than ${schema.maxLength} bytes`,
      reason: 'FieldValueTooLong',
    });
  }
  if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
    causes.push({
      field: at,
      message: `Invalid value: "${value}": ${at} in body should match '${schema.pattern}'`,
    });
  }
  return causes;
}

function checkArray(value: unknown[], schema: OpenApiSchema, path: string, at: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    causes.push({
      field: at,
      message: `Invalid value: ${value.length}: ${at} in body should have at least ${schema.minItems} items`,
    });
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    causes.push({
      field: at,
      message: `Too many: ${value.length}: must have at most ${schema.maxItems} items`,
      reason: 'FieldValueTooMany',
    });
  }
  value.forEach((item, i) => causes.push(...validateSchema(item, schema.items, `${path}[${i}]`)));
  return causes;
}

function checkObject(obj: Record<string, unknown>, schema: OpenApiSchema, path: string): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const req of schema.required ?? []) {
    if (!(req in obj))
      causes.push({
        field: path ? `${path}.${req}` : req,
        message: 'Required value',
        reason: 'FieldValueRequired',
      });
  }
  for (const [k, v] of Object.entries(obj)) {
    const child = path ? `${path}.${k}` : k;
    const sub =
      schema.properties?.[k] ??
      (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    causes.push(...validateSchema(v, sub, child));
  }
  return causes;
}

/** Validate a value against a CRD schema; returns causes in the API server's field-path style. */
export function validateSchema(value: unknown, schema: OpenApiSchema | undefined, path = ''): StatusCause[] {
  if (!schema) return [];
  const at = path || '<root>';
  if (value === null || value === undefined) {
    return value === null && !schema.nullable
      ? [{ field: at, message: 'Invalid value: "null": must not be null', reason: 'FieldValueInvalid' }]
      : [];
  }
  if (schema['x-kubernetes-int-or-string']) {
    return typeof value === 'string' || Number.isInteger(value)
      ? []
      : [
          {
            field: at,
            message: 'Invalid value: must be an integer or a string',
            reason: 'FieldValueTypeInvalid',
          },
        ];
  }
  const actual = jsonType(value);
  if (schema.type && !(schema.type === actual || (schema.type === 'number' && actual === 'integer'))) {
    return [
      {
        field: at,
        message: `Invalid value: "${actual}": ${at} in body must be of type ${schema.type}: "${actual}"`,
        reason: 'FieldValueTypeInvalid',
      },
    ];
  }
  const causes: StatusCause[] = [];
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    const supported = schema.enum.map((e) => JSON.stringify(e)).join(', ');
    causes.push({
      field: at,
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported}`,
      reason: 'FieldValueNotSupported',
    });
  }
  if (typeof value === 'number') causes.push(...checkNumber(value, schema, at));
  else if (typeof value === 'string') causes.push(...checkString(value, schema, at));
  else if (Array.isArray(value)) causes.push(...checkArray(value, schema, path, at));
  else if (typeof value === 'object')
    causes.push(...checkObject(value as Record<string, unknown>, schema, path));
  if (schema.anyOf && !schema.anyOf.some((s) => validateSchema(value, s, path).length === 0)) {
    causes.push({ field: at, message: 'Invalid value: must match at least one schema (anyOf)' });
  }
  return causes;
}

/**
 * Drop fields the schema does not declare (structural-schema pruning), unless it preserves unknown
 * fields. Applies to spec/status of custom resources, as the real API server does.
 */
export function pruneUnknown(value: unknown, schema: OpenApiSchema | undefined): unknown {
  if (
    !schema ||
    schema['x-kubernetes-preserve-unknown-fields'] ||
    value === null ||
    typeof value !== 'object'
  )
    return value;
  if (Array.isArray(value)) return value.map((v) => pruneUnknown(v, schema.items));
  const obj = value as Record<string, unknown>;
  if (!schema.properties) {
    if (typeof schema.additionalProperties === 'object') {
      return Object.fromEntries(
        Object.entries(obj).map(([k, v]) => [
          k,
          pruneUnknown(v, schema.additionalProperties as OpenApiSchema),
        ]),
      );
    }
    return schema.additionalProperties === true ? obj : schema.type === 'object' ? {} : obj;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const sub = schema.properties[k];
    if (sub) out[k] = pruneUnknown(v, sub);
  }
  return out;
}
