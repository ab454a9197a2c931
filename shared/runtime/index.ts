export { KurativeError, badEvent, unavailable, toErrorResponse } from './errors.js';
export { defineFunction } from './function.js';
export type {
  FunctionDefinition,
  HandlerContext,
  HandlerResult,
  InboundEvent,
  InboundOf,
  OutboundEvent,
} from './function.js';
export { createHttpHandler, parseInbound } from './http-handler.js';
export type { HttpHandler, RequestLike, ResponseLike, RuntimeOptions } from './http-handler.js';
export { createSinkPoster } from './sink.js';
export type { FetchLike, PostToSink, SinkOptions } from './sink.js';
export { parseTraceparent, childTraceparent } from './trace.js';
export type { TraceContext } from './trace.js';
export { serveInProcess } from './serve.js';
export type { RunningServer } from './serve.js';
