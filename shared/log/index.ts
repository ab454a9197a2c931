import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Structured JSON logger; `destination` lets tests capture lines. */
export function createLogger(
  fields: Record<string, string>,
  level = 'info',
  destination?: DestinationStream,
): Logger {
  const options = {
    level,
    base: fields,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}
