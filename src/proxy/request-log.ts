/**
 * Every request the proxy serves gets an id and, once answered, one log line and one latency
 * observation. The id is the client's `X-Request-Id` when it is a plausible one, else a new UUID;
 * it goes back to the client on the answer and on to the upstream catalog with the request, so
 * the three logs can be joined. Only method, path (no query: it may carry signed-URL or token
 * parameters), status, duration, id and route kind are logged: never headers or bodies.
 */
import { randomUUID } from 'node:crypto';
import type { RequestListener } from 'node:http';
import type { Metrics } from '../server/metrics.ts';
import type { Logger } from '../util/logger.ts';
import { routeKind } from './route-kind.ts';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Ids of the usual shapes (UUIDs, ULIDs, trace ids, base64); anything else is replaced. */
const PLAUSIBLE_ID = /^[A-Za-z0-9._:+/=-]{1,128}$/;

/** Paths can be as long as a client likes; a log line need not be. */
const MAX_LOGGED_PATH = 1024;

/**
 * An answer that never started because the client went away is logged with nginx's "client
 * closed request" status, so it is not counted as a 200 nobody got.
 */
const CLIENT_CLOSED_REQUEST = 499;

export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && PLAUSIBLE_ID.test(header) ? header : randomUUID();
}

export function withRequestLog(listener: RequestListener, options: { logger: Logger; metrics?: Pick<Metrics, 'requestCompleted'> }): RequestListener {
  return (request, response) => {
    const started = performance.now();
    const id = requestIdOf(request.headers[REQUEST_ID_HEADER]);
    // Forwarded upstream with the client's other headers: it is end to end, not hop by hop.
    request.headers[REQUEST_ID_HEADER] = id;
    // A default: an answer that carries its own (an upstream echoing the id) keeps its value.
    response.setHeader(REQUEST_ID_HEADER, id);
    const method = request.method ?? 'GET';
    // Read now: the replica dispatch rewrites request.url.
    const path = (request.url ?? '/').split('?', 1)[0]!;
    const route = routeKind(method, path);
    response.once('close', () => {
      const durationMs = performance.now() - started;
      const status = response.headersSent ? response.statusCode : CLIENT_CLOSED_REQUEST;
      options.logger.info({
        requestId: id, method, path: path.slice(0, MAX_LOGGED_PATH), status, durationMs: Math.round(durationMs * 1000) / 1000, route,
        ...(response.writableFinished ? {} : { aborted: true }),
      }, 'request');
      options.metrics?.requestCompleted({ method, route, status }, durationMs / 1000);
    });
    listener(request, response);
  };
}
