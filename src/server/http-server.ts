/**
 * Node HTTP servers for Icerelay's apps, answering malformed requests the way every other bad
 * request is answered: with an Iceberg error body.
 * - Requests Node's HTTP parser cannot read (bytes not allowed in a request line or header,
 *   broken framing, oversized headers) never reach a route; Node would answer a bare 400. The
 *   connection is closed after the answer, since it can no longer be trusted to separate requests.
 * - Requests Hono's Node adapter refuses to turn into a `Request` (a backslash in the path, a bad
 *   Host header) would get an empty 400.
 */
import http, { type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { getRequestListener, RequestError } from '@hono/node-server';
import { IcebergError } from '../errors/iceberg-error.ts';

function parserErrorAnswer(code: string | undefined): { status: number; reason: string; message: string } {
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, reason: 'Request Header Fields Too Large', message: 'Request headers are too large' };
  return { status: 400, reason: 'Bad Request', message: `Malformed HTTP request (${code ?? 'unreadable'}): the request line, headers or framing are not valid HTTP/1.1` };
}

export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { status, reason, message } = parserErrorAnswer(error.code);
    const body = JSON.stringify({ error: { message, type: 'BadRequestException', code: status } });
    // An answer to HEAD carries no body, or the client would read it as the next response.
    const head = error.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
    socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${head ? '' : body}`);
  });
}

/** A Node request listener for a fetch-style app (Hono), with Iceberg error bodies for requests it cannot take. */
export function requestListener(fetch: (request: Request, env: unknown) => Response | Promise<Response>): http.RequestListener {
  return getRequestListener(fetch, {
    errorHandler: (error) => {
      if (error instanceof RequestError) return new IcebergError(400, 'BadRequestException', `Malformed request: ${error.message}`).toResponse();
      return new IcebergError(500, 'InternalServerError', 'The request could not be handled').toResponse();
    },
  });
}

/** Serves `listener` on host:port; resolves once it listens. */
export async function listen(listener: http.RequestListener, host: string, port: number): Promise<Server> {
  const server = http.createServer(listener);
  answerClientErrors(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
