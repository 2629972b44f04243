/**
 * Totals for the progress callback. Bytes are tracked per file so a retried attempt replaces the
 * bytes of the failed one instead of adding to them: the bar never runs past 100%.
 */

import type { CopyProgress } from './types.ts';

export class ProgressTracker {
  private filesDone = 0;
  private bytesDone = 0;
  private readonly bytesTotal: number;
  private readonly perFile = new Map<number, number>();

  constructor(
    private readonly sizes: readonly number[],
    private readonly onProgress: ((progress: CopyProgress) => void) | undefined,
  ) {
    this.bytesTotal = sizes.reduce((sum, size) => sum + size, 0);
  }

  /** Bytes of file `index` moved so far in the current attempt. */
  setFileBytes(index: number, bytes: number): void {
    this.record(index, bytes);
    this.emit();
  }

  /** The file is finished, however it ended; a skipped or failed file counts its bytes as done. */
  fileDone(index: number): void {
    this.record(index, this.sizes[index] ?? 0);
    this.filesDone++;
    this.emit();
  }

  private record(index: number, bytes: number): void {
    this.bytesDone += bytes - (this.perFile.get(index) ?? 0);
    this.perFile.set(index, bytes);
  }

  private emit(): void {
    this.onProgress?.({
      filesDone: this.filesDone,
      filesTotal: this.sizes.length,
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
    });
  }
}
