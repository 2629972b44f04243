/**
 * Waiting for a running Icerelay to finish replicating, through its status route: every table
 * and destination `completed`; a failed one (or one with an error) stops the wait at once.
 */

interface Row {
  destination: string;
  entity: { namespace: string[]; name?: string };
  state: string;
  lastError: string | null;
}

export async function replicationDone(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let rows: Row[] = [];
  while (Date.now() < deadline) {
    rows = ((await (await fetch(`${url}/admin/v1/replication/status`)).json()) as { tables: Row[] }).tables;
    const failed = rows.find((r) => r.state === 'failed' || r.lastError);
    if (failed) throw new Error(`replication of ${failed.entity.namespace.join('.')}.${failed.entity.name ?? ''} to ${failed.destination} failed: ${failed.lastError}`);
    if (rows.length > 0 && rows.every((r) => r.state === 'completed')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`replication not done after ${timeoutMs} ms: ${JSON.stringify(rows.filter((r) => r.state !== 'completed'))}`);
}
