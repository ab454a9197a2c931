import type { StatusCause } from './types.js';

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
};

/** An API error rendered as a metav1.Status (the body every Kubernetes error has). */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason: string = REASONS[code] ?? 'Unknown',
    readonly details: {
      name?: string;
      group?: string;
      kind?: string;
      causes?: StatusCause[];
      retryAfterSeconds?: number;
    } = {},
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      details: this.details,
      code: this.code,
    };
  }
}

export const notFound = (resource: string, name: string, group = '') =>
  new ApiError(404, `${resource}${group ? `.${group}` : ''} "${name}" not found`, 'NotFound', {
    name,
    group,
    kind: resource,
  });

export const alreadyExists = (resource: string, name: string, group = '') =>
  new ApiError(409, `${resource}${group ? `.${group}` : ''} "${name}" already exists`, 'AlreadyExists', {
    name,
    group,
    kind: resource,
  });

export const conflict = (resource: string, name: string, group = '') =>
  new ApiError(
    409,
    `Operation cannot be fulfilled on ${resource}${group ? `.${group}` : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    'Conflict',
    { name, group, kind: resource },
  );

export const invalid = (kind: string, name: string, causes: StatusCause[]) =>
  new ApiError(
    422,
    `${kind} "${name}" is invalid: ${causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ')}`,
    'Invalid',
    {
      name,
      kind,
      causes: causes.map((c) => ({
        reason: c.reason ?? 'FieldValueInvalid',
        message: c.message,
        field: c.field ?? '',
      })),
    },
  );

export const forbidden = (message: string) => new ApiError(403, message, 'Forbidden');
export const badRequest = (message: string) => new ApiError(400, message, 'BadRequest');
