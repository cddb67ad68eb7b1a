import type { CliIO } from './options.ts'

/** Resolves on the first Ctrl-C or SIGTERM (the way proxy and sim end). */
export function untilInterrupted(io: CliIO): Promise<void> {
  return new Promise<void>((resolveWait) => {
    if (io.interrupt?.aborted) resolveWait()
    io.interrupt?.addEventListener('abort', () => resolveWait(), { once: true })
  })
}
