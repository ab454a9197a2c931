import type { Config } from '../config/index.js';
import type { EventData, EventType, FunctionName } from '../contracts/index.js';
import type { Logger } from '../log/index.js';

/** A validated incoming CloudEvent, typed by its event type. */
export interface InboundEvent<T extends EventType = EventType> {
  readonly id: string;
  readonly type: T;
  readonly source: string;
  readonly subject: string | undefined;
  readonly time: string | undefined;
  readonly incidentId: string | undefined;
  readonly traceparent: string;
  readonly data: EventData<T>;
  /** Extensions other than incidentid/traceparent (e.g. ApiServerSource's kind, name, namespace). */
  readonly extensions: Readonly<Record<string, string>>;
}

export type InboundOf<T extends EventType> = { [K in T]: InboundEvent<K> }[T];

/** An event a handler wants to emit; the runtime fills id, source, time and tracing. */
export type OutboundEvent = {
  [K in EventType]: {
    readonly type: K;
    readonly data: EventData<K>;
    readonly subject?: string;
    readonly incidentId?: string;
    /** Extra CloudEvent extensions, e.g. `verdict` that Triggers filter on. Names: [a-z0-9]{1,20}. */
    readonly extensions?: Readonly<Record<string, string>>;
  };
}[EventType];

export interface HandlerContext<D> {
  readonly config: Config;
  readonly deps: D;
  readonly log: Logger;
}

export type HandlerResult = OutboundEvent | readonly OutboundEvent[] | undefined | void;

/** One kurative function: the event types it accepts and its handler. */
export interface FunctionDefinition<D, T extends EventType = EventType> {
  readonly name: FunctionName;
  readonly accepts: readonly T[];
  readonly handle: (event: InboundOf<T>, ctx: HandlerContext<D>) => Promise<HandlerResult>;
}

/** Identity helper that infers T from `accepts`, so handlers get a precise event type. */
export function defineFunction<D, T extends EventType>(
  definition: FunctionDefinition<D, T>,
): FunctionDefinition<D, T> {
  return definition;
}
