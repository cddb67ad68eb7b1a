/**
 * The real CLI (`node bin/driftwatch.js`) in a child process, for what only a process shows: how
 * long it takes to end after a SIGTERM, its exit code, its peak memory. Where the child stands in
 * reading a file is read from Linux's /proc (the file offset of its open descriptor), so a signal
 * can be sent at a chosen point of the work rather than after a guessed delay.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'

export const ROOT = join(import.meta.dirname, '..', '..')

/** A CLI child: its process, and how it ended (exit code, and when, on performance.now()'s clock). */
export interface CliChild {
  child: ChildProcess
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number; stdout: string; stderr: string }>
}

/** Starts `driftwatch <args>` in ROOT; `peakRssFile` gets the peak RSS in bytes when it exits. */
export function startCli(args: string[], opts: { env?: Record<string, string>; peakRssFile?: string } = {}): CliChild {
  const preload = opts.peakRssFile ? ['--import', join(import.meta.dirname, 'peak-rss.mjs')] : []
  const child = spawn(process.execPath, [...preload, join(ROOT, 'bin', 'driftwatch.js'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PACT_DO_NOT_TRACK: 'true', ...opts.env, ...(opts.peakRssFile ? { DW_PEAK_RSS_FILE: opts.peakRssFile } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => (stdout += d))
  child.stderr!.on('data', (d: Buffer) => (stderr += d))
  const ended = new Promise<Awaited<CliChild['ended']>>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: performance.now(), get stdout() { return stdout }, get stderr() { return stderr } })))
  return { child, ended }
}

/** How far the process has read `file` (its descriptor's offset), or undefined when it has it not open. */
export function readOffset(pid: number, file: string): number | undefined {
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let target: string
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`)
      } catch {
        continue
      }
      if (target !== file) continue
      const pos = /^pos:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))
      if (pos) return Number(pos[1])
    }
  } catch {}
  return undefined
}

/** Resolves once the child has read past `bytes` of `file` (polled every 5 ms); rejects if it ends first. */
export async function whenRead(c: CliChild, file: string, bytes: number, timeoutMs = 60_000): Promise<number> {
  let done = false
  void c.ended.then(() => (done = true))
  const t0 = performance.now()
  for (;;) {
    const at = readOffset(c.child.pid!, file)
    if (at !== undefined && at >= bytes) return at
    if (done) throw new Error(`the CLI ended before reading ${bytes} bytes of ${file}: ${(await c.ended).stderr}`)
    if (performance.now() - t0 > timeoutMs) throw new Error(`the CLI read ${at ?? 'nothing'} of ${file} in ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** The peak RSS (bytes) a child wrote to `file` on exit. */
export function peakRss(file: string): number {
  if (!existsSync(file)) throw new Error(`no peak RSS in ${file}: did the child exit normally?`)
  return Number(readFileSync(file, 'utf8'))
}
