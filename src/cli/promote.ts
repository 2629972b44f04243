/**
 * `icerelay promote`: failover to a replica. Asks the running Icerelay to stop replicating into a
 * destination (or one table of it) and make it writable (POST /admin/v1/replication/promote),
 * then says what was promoted, where writers go now and what was lost; or, when the replica is
 * behind and --force is not given, why it refused and how to go on (exit code 1).
 */
import { AdminApiError, baseUrl, call, parseFlags, UsageError } from './admin-client.ts';

export const PROMOTE_HELP = `icerelay promote --destination NAME [--table ns.t] [--force] [--json] [--url URL]

Failover to a replica: replication into the destination (or into one table of it) stops, for good
and on every Icerelay sharing the state database, and the replica takes writes. A built-in replica
takes them through its own catalog at <url>/replicas/NAME (with --table: writes to that table only;
its other tables stay read-only); for an external REST replica catalog, point writers at that
catalog directly. Commits to a promoted replica are not replicated anywhere.

A replica that has not applied every source commit would lose them: promote then refuses (exit
code 1) and names each table with the commits and snapshots it would lose. --force promotes anyway
and records what was lost (GET /admin/v1/replication/promotions, and icerelay status shows the
rows as promoted). Promoting what is already promoted changes nothing.

Examples:
  icerelay promote --destination eu                         the whole replica eu
  icerelay promote --destination eu --table sales.orders    one table of it
  icerelay promote --destination eu --force                 even though eu is behind

Exit codes: 0 promoted (or already promoted); 1 refused because the replica is behind, or the
server answered an error or could not be reached; 2 wrong arguments, or no such destination or table.
`;

interface PromotionAnswer {
  destination: string;
  table: string | null;
  replicaTable: string | null;
  catalogType: 'builtin' | 'rest';
  writeTo: string;
  alreadyPromoted: boolean;
  message: string;
}

export async function promote(args: string[]): Promise<number> {
  const flags = parseFlags(args, ['--url', '--destination', '--table'], ['--force', '--json']);
  const destination = flags.values.get('--destination');
  if (!destination) throw new UsageError('promote needs --destination NAME (the replica to fail over to)');
  const table = flags.values.get('--table');
  const base = baseUrl(flags);
  let answer: PromotionAnswer;
  try {
    answer = (await call(`${base}/admin/v1/replication/promote`, 'POST', { destination, table, force: flags.switches.has('--force') })) as PromotionAnswer;
  } catch (error) {
    if (error instanceof AdminApiError && error.status === 409) {
      process.stderr.write(`icerelay: promotion refused. ${error.apiMessage}\n`);
      return 1;
    }
    throw error;
  }
  if (flags.switches.has('--json')) {
    process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    return 0;
  }
  // The answer names this Icerelay's replica endpoint by its path: the URL here is the one asked.
  const writeTo = answer.catalogType === 'builtin' ? `${base}${answer.writeTo}` : answer.writeTo;
  process.stdout.write(`${answer.message}\nwriters: ${writeTo}\n`);
  return 0;
}
