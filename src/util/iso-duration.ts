/**
 * ISO-8601 durations as Iceberg's `/v1/config` carries `idempotency-key-lifetime` (`PT30M`).
 * Days, hours, minutes and seconds only: years and months have no fixed length.
 */

/** `PT30M` for 30 minutes; seconds when not a whole number of minutes. */
export function formatIsoDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return seconds % 60 === 0 ? `PT${seconds / 60}M` : `PT${seconds}S`;
}

/** Milliseconds, or undefined when the text is not a duration of days, hours, minutes and seconds. */
export function parseIsoDuration(text: string): number | undefined {
  const match = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!match || text === 'P' || text.endsWith('T')) return undefined;
  const [, days, hours, minutes, seconds] = match.map((v) => (v === undefined ? 0 : Number(v)));
  return Math.round((((days! * 24 + hours!) * 60 + minutes!) * 60 + seconds!) * 1000);
}
