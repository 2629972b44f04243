/**
 * A pass-through stream that counts bytes and fails as soon as more than `expected` pass, or at the end
 * when fewer did. Counting on the way (not after) keeps a too-long source from being uploaded in full
 * and catches a connection that closed early without an error.
 */

import { Transform, type TransformCallback } from 'node:stream';

import { SizeMismatchError } from './errors.ts';

export class ByteCounter extends Transform {
  bytes = 0;

  constructor(
    private readonly location: string,
    private readonly expected: number,
    private readonly onBytes: (bytes: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expected) {
      callback(new SizeMismatchError(this.location, this.expected, this.bytes, 'source'));
      return;
    }
    this.onBytes(this.bytes);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.bytes === this.expected ? null : new SizeMismatchError(this.location, this.expected, this.bytes, 'source'));
  }
}
