/**
 * Failures the copier raises itself. Both are permanent: retrying cannot make a missing file appear or
 * change its size, so the retry loop gives up on them at once.
 */

export class SourceMissingError extends Error {
  override readonly name = 'SourceMissingError';
  constructor(readonly location: string, options?: { cause?: unknown }) {
    super(`Source file does not exist: ${location}`, options);
  }
}

export class SizeMismatchError extends Error {
  override readonly name = 'SizeMismatchError';
  constructor(
    readonly location: string,
    readonly expected: number,
    readonly actual: number,
    what: 'source' | 'destination',
  ) {
    super(`${what === 'source' ? 'Source' : 'Destination'} file ${location} has ${actual} bytes, expected ${expected}`);
  }
}
