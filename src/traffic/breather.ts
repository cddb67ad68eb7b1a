/**
 * Long work that never waits for I/O (judging entries already read, a report over many
 * operations) runs as promise callbacks, which never let the event loop turn: a SIGTERM or Ctrl-C
 * handler then waits until the work is done. A Breather, called in such a loop, hands the event
 * loop a turn whenever some milliseconds have passed since the last, so a signal is seen within
 * them whatever the input.
 */
import { setImmediate as turn } from 'node:timers/promises'

/** How long work may run before letting signal handlers and timers in: far under the 1 s a signal is honoured in. */
const BREATHE_MS = 50

/** Lets the event loop turn every BREATHE_MS (or `ms`) of work. */
export class Breather {
  private last = performance.now()
  constructor(private readonly ms = BREATHE_MS) {}

  /** Resolves at once, or after one turn of the event loop when the time is up. */
  async breathe(): Promise<void> {
    if (performance.now() - this.last < this.ms) return
    await turn()
    this.last = performance.now()
  }
}
