/**
 * The one error type that knows its HTTP status. Thrown where a problem is found,
 * mapped to a response in exactly one place (http-handler.ts).
 * 4xx: the event is bad and will never succeed (the broker must not retry);
 * 5xx / 429: transient, the broker retries.
 */
export class KurativeError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KurativeError';
    this.status = status;
    this.code = code;
  }

  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 409 || this.status === 404;
  }
}

/** The event cannot be processed as sent; retrying will not help. */
export function badEvent(message: string, options?: { cause?: unknown }): KurativeError {
  return new KurativeError(400, 'BadEvent', message, options);
}

/** A dependency (store, API server, sink) failed; the broker should retry. */
export function unavailable(message: string, options?: { cause?: unknown }): KurativeError {
  return new KurativeError(503, 'Unavailable', message, options);
}

/** Map anything thrown to a status and a JSON body; unknown errors are 500 (retried). */
export function toErrorResponse(error: unknown): {
  status: number;
  body: { error: string; message: string };
} {
  if (error instanceof KurativeError) {
    return { status: error.status, body: { error: error.code, message: error.message } };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, body: { error: 'Internal', message } };
}
