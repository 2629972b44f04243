/**
 * A loopback port nothing listens on right now (the OS's choice), for servers whose
 * configuration wants a real port rather than 0 (Icerelay child processes, the Java fixture).
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}
