/**
 * A minimal structured logger: one JSON object per line on stderr. Callers pass fields first and
 * a message second (the pino convention), so it can be swapped for pino without touching callers.
 */
export interface Logger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

function serializeError(value: unknown): unknown {
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack };
  return value;
}

export function createLogger(options: { level?: 'info' | 'warn' | 'error' | 'silent' } = {}): Logger {
  const order = { info: 0, warn: 1, error: 2, silent: 3 };
  const min = order[options.level ?? 'info'];
  const write = (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string) => {
    if (order[level] < min) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level, msg: message };
    for (const [k, v] of Object.entries(fields)) entry[k] = k === 'err' ? serializeError(v) : v;
    process.stderr.write(`${JSON.stringify(entry, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
  };
  return {
    info: (f, m) => write('info', f, m),
    warn: (f, m) => write('warn', f, m),
    error: (f, m) => write('error', f, m),
  };
}
