/**
 * Rewriting a Puffin file of deletion vectors (Iceberg v3) for a destination.
 *
 * Layout (https://iceberg.apache.org/puffin-spec/):
 *   Magic Blob1 ... BlobN Footer
 *   Footer = Magic FooterPayload FooterPayloadSize(int32 LE) Flags(4 bytes) Magic
 * The footer payload is UTF-8 JSON: {"blobs": [{type, fields, snapshot-id, sequence-number, offset,
 * length, compression-codec?, properties?}], "properties": {...}}. A `deletion-vector-v1` blob names
 * the data file it applies to in `properties["referenced-data-file"]`; the blob bytes themselves
 * (a length, a magic, a portable Roaring bitmap, a CRC) hold no path.
 *
 * So the rewrite keeps every byte before the footer (blob offsets are absolute from the file start
 * and stay valid, and so do the manifests' content_offset / content_size_in_bytes) and writes a new
 * footer whose only change is each `referenced-data-file` mapped with the LocationMap; the payload
 * size field is recomputed and the flags kept. The JSON is re-serialized losslessly (64-bit numbers
 * keep their digits, keys their order), so with an identity mapping the file comes back byte for
 * byte. Only the file size changes.
 *
 * A footer compressed with LZ4 (flag bit 0 of byte 0) is refused, as are unknown flags: Iceberg
 * Java cannot read LZ4 footers either and never writes them. Statistics Puffin files (theta
 * sketches) name no files and are copied, not rewritten.
 */
import { isJsonObject, parseJson, toJson, type JsonObject, type JsonValue } from '../../util/json.ts';
import type { LocationMap } from './location-map.ts';

export const DELETION_VECTOR_BLOB_TYPE = 'deletion-vector-v1';
export const REFERENCED_DATA_FILE = 'referenced-data-file';

export class PuffinFileError extends Error {
  override readonly name = 'PuffinFileError';
}

export interface PuffinBlob {
  type: string;
  offset: number;
  length: number;
  properties: Record<string, string>;
}

export interface PuffinFooter {
  /** Byte offset of the footer's start magic. */
  footerStart: number;
  flags: Buffer;
  metadata: JsonObject;
  blobs: PuffinBlob[];
}

export interface RewrittenPuffinFile {
  bytes: Buffer;
  size: number;
  /** The blobs as the new footer describes them (offsets and lengths unchanged). */
  blobs: PuffinBlob[];
}

const MAGIC = Buffer.from([0x50, 0x46, 0x41, 0x31]); // "PFA1"
const FOOTER_STRUCT_LENGTH = 12; // payload size, flags, magic
const FLAG_FOOTER_PAYLOAD_COMPRESSED = 0x01; // byte 0, bit 0

export function readPuffinFooter(bytes: Uint8Array, location: string): PuffinFooter {
  const fail = (message: string) => new PuffinFileError(`Puffin file ${location}: ${message}`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const minimum = MAGIC.length * 2 + FOOTER_STRUCT_LENGTH;
  if (buf.length < minimum || !buf.subarray(0, 4).equals(MAGIC)) throw fail(`not a Puffin file (${buf.length} bytes, no PFA1 at the start)`);
  if (!buf.subarray(buf.length - 4).equals(MAGIC)) throw fail(`truncated or not a Puffin file (${buf.length} bytes, no PFA1 at the end)`);
  const payloadSize = buf.readInt32LE(buf.length - FOOTER_STRUCT_LENGTH);
  const flags = Buffer.from(buf.subarray(buf.length - 8, buf.length - 4));
  const footerStart = buf.length - FOOTER_STRUCT_LENGTH - payloadSize - MAGIC.length;
  if (payloadSize < 0 || footerStart < MAGIC.length) throw fail(`truncated: its footer claims a ${payloadSize}-byte payload in ${buf.length} bytes`);
  if (!buf.subarray(footerStart, footerStart + 4).equals(MAGIC)) throw fail(`truncated or corrupt: no PFA1 where its footer should start (byte ${footerStart})`);
  if (flags[0]! & FLAG_FOOTER_PAYLOAD_COMPRESSED) throw fail('its footer payload is LZ4-compressed, which is not supported');
  if (flags[0]! & ~FLAG_FOOTER_PAYLOAD_COMPRESSED || flags[1] || flags[2] || flags[3]) throw fail(`unknown footer flags ${flags.toString('hex')}`);

  let metadata: JsonValue;
  try {
    metadata = parseJson(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(footerStart + 4, footerStart + 4 + payloadSize)));
  } catch (err) {
    throw fail(`unreadable footer (${(err as Error).message})`);
  }
  if (!isJsonObject(metadata) || !Array.isArray(metadata.blobs)) throw fail('its footer has no "blobs" list');
  const blobs = metadata.blobs.map((blob, i) => {
    if (!isJsonObject(blob) || typeof blob.type !== 'string') throw fail(`blob ${i} has no type`);
    const offset = Number(blob.offset);
    const length = Number(blob.length);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < MAGIC.length || length < 0 || offset + length > footerStart) {
      throw fail(`blob ${i} (offset ${String(blob.offset)}, length ${String(blob.length)}) is not between the header and the footer (byte ${footerStart})`);
    }
    const properties: Record<string, string> = {};
    if (blob.properties !== undefined) {
      if (!isJsonObject(blob.properties)) throw fail(`blob ${i} has malformed properties`);
      for (const [key, value] of Object.entries(blob.properties)) {
        if (typeof value !== 'string') throw fail(`blob ${i} property ${key} is not a string`);
        properties[key] = value;
      }
    }
    return { type: blob.type, offset, length, properties };
  });
  return { footerStart, flags, metadata, blobs };
}

export function rewritePuffinFile(bytes: Uint8Array, location: string, map: LocationMap): RewrittenPuffinFile {
  const footer = readPuffinFooter(bytes, location);
  const blobs = (footer.metadata.blobs as JsonObject[]).map((blob, i) => {
    const info = footer.blobs[i]!;
    const referenced = info.properties[REFERENCED_DATA_FILE];
    if (referenced === undefined) {
      if (info.type === DELETION_VECTOR_BLOB_TYPE) throw new PuffinFileError(`Puffin file ${location}: deletion vector blob ${i} has no ${REFERENCED_DATA_FILE}`);
      return info;
    }
    const mapped = map.map(referenced, `${REFERENCED_DATA_FILE} of blob ${i} in Puffin file ${location}`);
    blob.properties = { ...(blob.properties as JsonObject), [REFERENCED_DATA_FILE]: mapped };
    return { ...info, properties: { ...info.properties, [REFERENCED_DATA_FILE]: mapped } };
  });
  const payload = Buffer.from(toJson(footer.metadata), 'utf8');
  const size = Buffer.alloc(4);
  size.writeInt32LE(payload.length);
  const out = Buffer.concat([bytes.subarray(0, footer.footerStart), MAGIC, payload, size, footer.flags, MAGIC]);
  return { bytes: out, size: out.length, blobs };
}
