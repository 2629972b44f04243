/**
 * Compressed answers from the upstream. Catalogs behind Jetty or a CDN compress when the client
 * accepts it (PyIceberg and Iceberg Java always do). The few bodies the proxy reads — config, load
 * results, mutation answers — are decoded to be read, and passed on as they came; a rewritten one
 * is encoded again the way the upstream encoded it.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { brotliCompressSync, brotliDecompressSync, deflateSync, gunzipSync, gzipSync, inflateRawSync, inflateSync } from 'node:zlib';

const DECODABLE = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'identity']);

/**
 * The client's `Accept-Encoding` narrowed to what the proxy can decode, for requests whose answer
 * it reads: a client that also accepts, say, zstd still gets an answer the proxy understands.
 */
export function decodableAcceptEncoding(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const accepted = headers['accept-encoding'];
  if (accepted === undefined) return headers;
  const kept = String(accepted).split(',').map((t) => t.trim())
    .filter((token) => DECODABLE.has(token.split(';')[0]!.trim().toLowerCase()));
  const { 'accept-encoding': _dropped, ...rest } = headers;
  return kept.length > 0 ? { ...rest, 'accept-encoding': kept.join(', ') } : rest;
}

/** The body without its content codings, or undefined when a coding is unknown or the bytes are broken. */
export function decodeBody(body: Buffer, headers: IncomingHttpHeaders): Buffer | undefined {
  const header = headers['content-encoding'];
  if (header === undefined || body.length === 0) return body;
  // Codings are listed in the order they were applied: undo them last to first.
  const codings = header.split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '' && c !== 'identity').reverse();
  let decoded = body;
  try {
    for (const coding of codings) {
      if (coding === 'gzip' || coding === 'x-gzip') decoded = gunzipSync(decoded);
      else if (coding === 'br') decoded = brotliDecompressSync(decoded);
      else if (coding === 'deflate') decoded = inflateDeflate(decoded);
      else return undefined;
    }
  } catch {
    return undefined;
  }
  return decoded;
}

/** `deflate` is meant to be zlib-wrapped, but some servers send raw deflate. */
function inflateDeflate(body: Buffer): Buffer {
  try {
    return inflateSync(body);
  } catch {
    return inflateRawSync(body);
  }
}

/** Encodes a rewritten body with the upstream's one coding; undefined for codings it does not make. */
export function encodeBody(body: Buffer, contentEncoding: string | undefined): Buffer | undefined {
  const coding = contentEncoding?.trim().toLowerCase();
  if (coding === undefined || coding === '' || coding === 'identity') return body;
  if (coding === 'gzip' || coding === 'x-gzip') return gzipSync(body);
  if (coding === 'br') return brotliCompressSync(body);
  if (coding === 'deflate') return deflateSync(body);
  return undefined;
}
