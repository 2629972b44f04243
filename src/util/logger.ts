/**
 * Structured logs: pino, one JSON object per line on stderr (`time` ISO 8601, `level` by name,
 * `msg`, the caller's fields). Callers pass fields first and a message second. Secrets are taken
 * out of every line (redact.ts), whatever the fields hold; errors go under `err` and keep their
 * type, message and stack.
 */
import pino, { type DestinationStream } from 'pino';
import { redactSecrets, scrubText } from './redact.ts';

/** The levels a start can choose (ICERELAY_LOG_LEVEL, `log.level`), most verbose first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const isLogLevel = (value: string): value is LogLevel => (LOG_LEVELS as readonly string[]).includes(value);

export interface Logger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  /** Optional, so that a hand-made Logger (a test's) needs only the three levels above. */
  debug?(fields: Record<string, unknown>, message: string): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; stderr by default. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const log = pino(
    {
      level: options.level ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => redactSecrets(fields) as Record<string, unknown>,
      },
      // redactSecrets has serialized errors already (at any depth); pino's own serializer would
      // take the result for an error again and call it an Object.
      serializers: { err: (value: unknown) => value },
    },
    // Synchronous, as stderr is for pipes anyway: a line logged just before process.exit (a
    // failed start) is not lost in a buffer.
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
  return {
    debug: (fields, message) => log.debug(fields, scrubText(message)),
    info: (fields, message) => log.info(fields, scrubText(message)),
    warn: (fields, message) => log.warn(fields, scrubText(message)),
    error: (fields, message) => log.error(fields, scrubText(message)),
  };
}
