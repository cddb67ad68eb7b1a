/**
 * ISO-8601 timestamps for observations. Formatting a Date costs microseconds per probe; the
 * second-resolution prefix is cached and only the milliseconds change between calls.
 */
let cachedSecond = -1
let cachedPrefix = ''

/** The current time as an ISO-8601 string with milliseconds, e.g. `2026-11-22T02:00:00.123Z`. */
export function isoNow(now: number = Date.now()): string {
  const second = Math.floor(now / 1000)
  if (second !== cachedSecond) {
    cachedSecond = second
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20)
  }
  const ms = now - second * 1000
  return `${cachedPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`
}
