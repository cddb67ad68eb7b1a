/**
 * A webhook receiver on loopback for alert tests: every body it is sent, parsed, in arrival order.
 * `hold()` keeps answers back until `release()` (a slow hook), to show delivery never holds judging.
 */
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Receiver {
  url: string
  got: Record<string, unknown>[]
  /** Resolves once `n` bodies have arrived. */
  received(n: number): Promise<void>
  hold(): void
  release(): void
  /** Answers with this status from now on (a hook that goes down, or comes back). */
  answerWith(status: number): void
  close(): Promise<void>
}

export async function webhookReceiver(status = 200): Promise<Receiver> {
  const got: Record<string, unknown>[] = []
  const waiting: { n: number; resolve: () => void }[] = []
  let held: ServerResponse[] | undefined
  const answer = (res: ServerResponse) => {
    res.writeHead(status)
    res.end()
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      got.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)
      for (const w of waiting.filter((x) => got.length >= x.n)) w.resolve()
      if (held) held.push(res)
      else answer(res)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    received: (n) => (got.length >= n ? Promise.resolve() : new Promise((resolve) => waiting.push({ n, resolve }))),
    hold: () => (held = []),
    answerWith: (s) => void (status = s),
    release: () => {
      for (const res of held ?? []) answer(res)
      held = undefined
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r())
        server.closeAllConnections()
      }),
  }
}
