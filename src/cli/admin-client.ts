/**
 * What the `icerelay` commands that talk to a running Icerelay share: their flags, its URL, and
 * calls to its admin API with errors a user can act on.
 */

/** Wrong arguments (or a 400 about what was asked): exit code 2. */
export class UsageError extends Error {}

/** The admin API answered an error (other than 400): its status and the error's message. */
export class AdminApiError extends Error {
  constructor(readonly status: number, readonly apiMessage: string, message: string) {
    super(message);
  }
}

export interface Flags {
  values: Map<string, string>;
  switches: Set<string>;
}

export function parseFlags(args: string[], withValue: string[], switches: string[]): Flags {
  const flags: Flags = { values: new Map(), switches: new Set() };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (withValue.includes(name)) {
      const value = inline ?? args[++i];
      if (value === undefined || value === '') throw new UsageError(`${name} needs a value`);
      flags.values.set(name, value);
    } else if (switches.includes(arg)) {
      flags.switches.add(arg);
    } else {
      throw new UsageError(`unknown argument '${arg}'`);
    }
  }
  return flags;
}

export const baseUrl = (flags: Flags) => (flags.values.get('--url') ?? process.env.ICERELAY_URL ?? 'http://127.0.0.1:8181').replace(/\/+$/, '');

export async function call(url: string, method: 'GET' | 'POST', body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new Error(`cannot reach Icerelay at ${new URL(url).origin}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message} (is it running? --url or ICERELAY_URL)`);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const message = (parsed as { error?: { message?: string } } | undefined)?.error?.message ?? text.slice(0, 300);
    // A 400 is about what was asked (a destination or table name): a usage error.
    if (response.status === 400) throw new UsageError(message);
    throw new AdminApiError(response.status, message, `${method} ${new URL(url).pathname} answered ${response.status}: ${message}`);
  }
  return parsed;
}
