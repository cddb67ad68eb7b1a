/**
 * The recording journal and its compaction, without a proxy: lines appended are on disk when
 * flush resolves, a writer that falls behind says so (backpressure) instead of growing, and
 * compaction writes the very bytes `JSON.stringify(recording, null, 2)` would, leaves an
 * unchanged recording alone, skips a line cut short by a crash, and leaves no temp file when
 * stopped halfway.
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Observation } from '../../src/model/observation.ts'
import { openAtomic } from '../../src/util/atomic-write.ts'
import { compactJournal, recoverJournal, removeStaleTemps } from '../../src/recordings/compact.ts'
import { HEARTBEAT_STALE_MS, INSTANCE, JournalWriter, journalFiles, journalPath } from '../../src/recordings/journal.ts'
import { loadRecordings, recordingPath, REDACTION_RULES, type Recording } from '../../src/recordings/store.ts'

const tmp: string[] = []
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })))
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'dw-journal-'))
  tmp.push(d)
  return d
}
const files = (d: string): string[] => readdirSync(d, { recursive: true, encoding: 'utf8' })

function obs(contract: string, i: number, extra: Record<string, unknown> = {}): Observation {
  return {
    contract,
    sample: 0,
    startedAt: `2026-11-25T09:00:0${i}.000Z`,
    request: { method: 'GET', url: `http://127.0.0.1:8787/v23.0/1065403522429${i}2`, headers: [['Host', '127.0.0.1:8787']], bodySize: 0, tokenSent: true },
    response: {
      status: 200,
      statusText: 'OK',
      rawHeaders: [['Content-Type', 'application/json'], ['x-fb-trace-id', `T${i}`]],
      framing: { kind: 'content-length', declaredLength: 20, bytesRead: 20 },
      body: { size: 20, sha256: 'abc', keptBytes: 20, truncated: false, text: '{"id":"1","ok":true}', json: { id: '1', ok: true, ...extra } },
    },
    timings: { totalMs: i },
  } as Observation
}

async function journalOf(recordings: string, entries: Observation[], name = 'proxy'): Promise<string> {
  const w = await JournalWriter.create(journalPath(recordings, name), { name, target: 'http://127.0.0.1:8787', startedAt: '2026-11-25T09:00:00.000Z', pid: process.pid })
  for (const o of entries) w.append(JSON.stringify({ personalData: 1, observation: o }))
  await w.close()
  return w.file
}

describe('recording journal', () => {
  it('has every appended line on disk once flush resolves, one line per exchange after the header', async () => {
    const d = dir()
    const w = await JournalWriter.create(join(d, '.journal', 'x.jsonl'), { name: 'x', target: 't', startedAt: 's', pid: process.pid })
    for (let i = 0; i < 25; i++) expect(w.append(JSON.stringify({ personalData: 0, observation: obs('c', i % 10) }))).toBe(true)
    await w.flush()
    const lines = readFileSync(w.file, 'utf8').trimEnd().split('\n')
    expect(lines).toHaveLength(26)
    expect(w.stats).toMatchObject({ lines: 25, queued: 0, lost: 0, bytes: readFileSync(w.file).length })
    await w.close()
    expect(w.append('{}')).toBe(false)
    expect(w.stats.lost).toBe(1)
  })

  it('says it is full when lines wait beyond its bound, and has room again once they are written', async () => {
    const d = dir()
    const w = await JournalWriter.create(join(d, 'j.jsonl'), { name: 'x', target: 't', startedAt: 's', pid: process.pid }, { maxQueuedBytes: 100 })
    // The first line goes to the disk at once; the next ones wait for that write.
    w.append('x'.repeat(50))
    w.append('y'.repeat(50))
    expect(w.full).toBe(false)
    w.append('z'.repeat(50))
    expect(w.full).toBe(true)
    await w.whenRoom()
    expect(w.full).toBe(false)
    await w.close()
  })

  it('refuses a second writer on the same journal', async () => {
    const d = dir()
    const file = join(d, 'j.jsonl')
    const w = await JournalWriter.create(file, { name: 'x', target: 't', startedAt: 's', pid: process.pid })
    await expect(JournalWriter.create(file, { name: 'x', target: 't', startedAt: 's', pid: process.pid })).rejects.toMatchObject({ code: 'DW_USAGE', message: expect.stringContaining('in use by another driftwatch proxy') })
    await w.close()
  })
})

describe('compaction', () => {
  it('writes the recording byte for byte as JSON.stringify would, grouped by contract, samples numbered', async () => {
    const d = dir()
    const file = await journalOf(d, [obs('a.get', 1), obs('b.get', 2), obs('a.get', 3, { updated_time: '2026-11-25T09:00:00Z' })])
    const result = await compactJournal(file, d)
    expect(result).toMatchObject({ exchanges: 3, damaged: 0, failed: [] })
    expect(result.recordings.map((r) => [r.contract, r.status, r.observations])).toEqual([['a.get', 'written', 2], ['b.get', 'written', 1]])
    const expected: Recording & Record<string, unknown> = {
      version: 1,
      contract: 'a.get',
      name: 'proxy',
      target: 'http://127.0.0.1:8787',
      apiVersion: 'v23.0',
      recordedAt: '2026-11-25T09:00:01.000Z',
      recorder: 'driftwatch proxy',
      observations: [{ ...obs('a.get', 1), sample: 1 }, { ...obs('a.get', 3, { updated_time: '2026-11-25T09:00:00Z' }), sample: 2 }],
      volatile: { headers: ['x-fb-trace-id'], body: ['/id'] },
      personalData: 2,
      redaction: REDACTION_RULES,
    }
    expect(readFileSync(recordingPath(d, 'a.get', 'proxy'), 'utf8')).toBe(`${JSON.stringify(expected, null, 2)}\n`)
    expect([...loadRecordings(d).keys()]).toEqual(['a.get', 'b.get'])
  })

  it('leaves a recording that shows the same behaviour untouched, and rewrites one that does not', async () => {
    const d = dir()
    const first = await compactJournal(await journalOf(d, [obs('a.get', 1)]), d)
    expect(first.recordings[0]!.status).toBe('written')
    const written = readFileSync(recordingPath(d, 'a.get', 'proxy'), 'utf8')
    rmSync(journalPath(d, 'proxy'))
    // Same behaviour: another time, other timings and trace id; nothing the upstream decides differs.
    const same = await compactJournal(await journalOf(d, [{ ...obs('a.get', 4), request: obs('a.get', 1).request }]), d)
    expect(same.recordings[0]!.status).toBe('unchanged')
    expect(readFileSync(recordingPath(d, 'a.get', 'proxy'), 'utf8')).toBe(written)
    rmSync(journalPath(d, 'proxy'))
    const changed = await compactJournal(await journalOf(d, [obs('a.get', 1, { extra: 'field' })]), d)
    expect(changed.recordings[0]!.status).toBe('written')
    expect(files(d).filter((f) => f.includes('.tmp-'))).toEqual([])
  })

  it('skips a line cut short by a crash and compacts the rest', async () => {
    const d = dir()
    const file = await journalOf(d, [obs('a.get', 1), obs('a.get', 2)])
    appendFileSync(file, '{"personalData":0,"observation":{"contract":"a.g')
    const result = await compactJournal(file, d)
    expect(result).toMatchObject({ exchanges: 2, damaged: 1, firstDamage: expect.stringMatching(/^line 4: not JSON/) })
    expect(loadRecordings(d).get('a.get')![0]!.observations).toHaveLength(2)
  })

  it('stopped halfway, leaves no temp file and the recording on disk as it was', async () => {
    const d = dir()
    await compactJournal(await journalOf(d, [obs('a.get', 1)], 'p'), d)
    const before = readFileSync(recordingPath(d, 'a.get', 'p'), 'utf8')
    rmSync(journalPath(d, 'p'))
    const file = await journalOf(d, [obs('a.get', 2), obs('b.get', 3), obs('a.get', 4), obs('b.get', 5)], 'p')
    let seen = 0
    // Stops after the third line: both recordings have a temp file open by then.
    const signal = { throwIfAborted: () => {
      if (++seen > 4) throw Object.assign(new Error('stopped'), { name: 'AbortError' })
    } } as AbortSignal
    await expect(compactJournal(file, d, { signal })).rejects.toThrow('stopped')
    expect(files(d).filter((f) => f.includes('.tmp-'))).toEqual([])
    expect(readFileSync(recordingPath(d, 'a.get', 'p'), 'utf8')).toBe(before)
  })

  it('recovers a journal whose process is gone, and removes it; refuses one this process is writing', async () => {
    const d = dir()
    const file = await journalOf(d, [obs('a.get', 1), obs('a.get', 2)])
    const recovered = await recoverJournal(d, 'proxy')
    expect(recovered).toMatchObject({ exchanges: 2, journal: file, recordings: [{ contract: 'a.get', observations: 2 }] })
    expect(files(d).filter((f) => f.endsWith('.jsonl'))).toEqual([])
    // Nothing else was in .journal: the empty folder goes too.
    expect(files(d).filter((f) => f.startsWith('.journal'))).toEqual([])
    expect(await recoverJournal(d, 'proxy')).toBeUndefined()
    const w = await JournalWriter.create(journalPath(d, 'live'), { name: 'live', target: 't', startedAt: 's', pid: process.pid })
    await expect(recoverJournal(d, 'live')).rejects.toMatchObject({ code: 'DW_USAGE', message: expect.stringContaining('belongs to a running driftwatch proxy') })
    await w.close()
  })

  describe('replicas sharing a volume (every container is pid 1)', () => {
    /** A journal as another process left it: its header, one exchange, and its modification time `ageMs` ago. */
    function journalFrom(d: string, header: Record<string, unknown>, ageMs: number): string {
      const file = journalPath(d, 'proxy')
      mkdirSync(join(d, '.journal'), { recursive: true })
      writeFileSync(file, `${JSON.stringify({ journal: 1, name: 'proxy', target: 't', startedAt: 's', ...header })}\n${JSON.stringify({ personalData: 0, observation: obs('a.get', 1) })}\n`)
      const t = new Date(Date.now() - ageMs)
      utimesSync(file, t, t)
      return file
    }

    it("refuses the journal of a replica on another host while its heartbeat is fresh, naming the host and the fix", async () => {
      const d = dir()
      const file = journalFrom(d, { pid: 1, host: 'proxy-7f9c4', instance: 'other' }, 2_000)
      await expect(recoverJournal(d, 'proxy')).rejects.toMatchObject({ code: 'DW_USAGE', message: expect.stringMatching(/pid 1 on host proxy-7f9c4, last heard from \d+ s ago.*--name proxy-\$HOSTNAME/) })
      expect(existsSync(file)).toBe(true)
    })

    it("refuses it even when the other replica's pid is our own (both pid 1): before, that journal was taken for a leftover and recovered under the replica writing it", async () => {
      const d = dir()
      journalFrom(d, { pid: process.pid, host: 'proxy-b2', instance: 'other' }, 1_000)
      await expect(recoverJournal(d, 'proxy')).rejects.toMatchObject({ code: 'DW_USAGE', message: expect.stringContaining('on host proxy-b2') })
    })

    it('recovers it once the heartbeat is older than HEARTBEAT_STALE_MS (the replica is gone)', async () => {
      const d = dir()
      journalFrom(d, { pid: 1, host: 'proxy-7f9c4', instance: 'other' }, HEARTBEAT_STALE_MS + 5_000)
      expect(await recoverJournal(d, 'proxy')).toMatchObject({ exchanges: 1 })
    })

    it('recovers a journal with our own host and pid but another run (this container restarted), however fresh', async () => {
      const d = dir()
      journalFrom(d, { pid: process.pid, host: hostname(), instance: 'an-earlier-run' }, 0)
      expect(await recoverJournal(d, 'proxy')).toMatchObject({ exchanges: 1 })
    })

    it("an open writer renews its journal's modification time (its heartbeat)", async () => {
      const d = dir()
      const file = journalPath(d, 'beat')
      const w = await JournalWriter.create(file, { name: 'beat', target: 't', startedAt: 's', pid: process.pid, host: hostname(), instance: INSTANCE }, { heartbeatMs: 20 })
      const old = new Date(Date.now() - 60_000)
      utimesSync(file, old, old)
      const deadline = Date.now() + 5_000
      while (Date.now() - statSync(file).mtimeMs > 30_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
      expect(Date.now() - statSync(file).mtimeMs).toBeLessThan(30_000)
      await w.close()
    })
  })

  it('says a file that is not a journal is not one, naming it', async () => {
    const d = dir()
    writeFileSync(join(d, 'x.jsonl'), 'hello\n')
    await expect(compactJournal(join(d, 'x.jsonl'), d)).rejects.toMatchObject({ code: 'DW_RECORDING_INVALID', message: expect.stringContaining('x.jsonl has no journal header') })
  })
})

describe('bounded journal', () => {
  it('rotates into numbered segments at its size, and compaction reads them in order, then the journal', async () => {
    const d = dir()
    const w = await JournalWriter.create(journalPath(d, 'proxy'), { name: 'proxy', target: 'http://127.0.0.1:8787', startedAt: '2026-11-25T09:00:00.000Z', pid: process.pid }, { rotateBytes: 2000 })
    for (let i = 1; i <= 9; i++) {
      w.append(JSON.stringify({ personalData: 0, observation: obs('a.get', i) }))
      await w.flush()
    }
    await w.close()
    const files = journalFiles(w.file)
    expect(w.segments).toBeGreaterThan(1)
    expect(files.map((f) => f.slice(d.length + 1))).toEqual([...Array.from({ length: w.segments }, (_, i) => `.journal/proxy.jsonl.${i + 1}`), '.journal/proxy.jsonl'])
    const result = await compactJournal(w.file, d)
    expect(result).toMatchObject({ exchanges: 9, damaged: 0 })
    expect(loadRecordings(d).get('a.get')![0]!.observations.map((o) => o.startedAt)).toEqual(Array.from({ length: 9 }, (_, i) => `2026-11-25T09:00:0${i + 1}.000Z`))
    // Recovery takes every segment and removes them all.
    expect((await recoverJournal(d, 'proxy'))?.exchanges).toBe(9)
    expect(journalFiles(w.file)).toEqual([])
  })

  it('under its size, stays one file', async () => {
    const d = dir()
    const file = await journalOf(d, [obs('a.get', 1), obs('a.get', 2)])
    expect(journalFiles(file)).toEqual([file])
  })

  it('sums count lines into the recording: exchanges of a shape already recorded', async () => {
    const d = dir()
    const file = await journalOf(d, [obs('a.get', 1), obs('b.get', 2)])
    appendFileSync(file, `${JSON.stringify({ counted: { 'a.get': 4 } })}\n${JSON.stringify({ counted: { 'a.get': 1 } })}\n`)
    await compactJournal(file, d)
    const recs = loadRecordings(d)
    expect(recs.get('a.get')![0]).toMatchObject({ exchanges: 6, observations: [expect.anything()] })
    expect(recs.get('b.get')![0]!.exchanges).toBeUndefined()
  })

  it("removes the temp files of a compaction whose process is gone, and keeps a running process's", async () => {
    const d = dir()
    const { mkdirSync } = await import('node:fs')
    mkdirSync(join(d, 'a.get'))
    const dead = join(d, 'a.get', '.proxy.json.tmp-4194303-0a1b2c3d')
    const live = join(d, 'a.get', `.proxy.json.tmp-${process.ppid}-0a1b2c3d`)
    writeFileSync(dead, '{"version": 1, "observations": [')
    writeFileSync(live, '{"version": 1, "observations": [')
    expect(await removeStaleTemps(d)).toEqual([dead])
    expect(files(d).sort()).toEqual(['a.get', 'a.get/.proxy.json.tmp-' + process.ppid + '-0a1b2c3d'])
  })

  it('removes a temp file named with our own pid that we are not writing (a container restarts as pid 1), and keeps the one we are', async () => {
    const d = dir()
    const { mkdirSync } = await import('node:fs')
    mkdirSync(join(d, 'a.get'))
    const leftover = join(d, 'a.get', `.proxy.json.tmp-${process.pid}-0a1b2c3d`)
    writeFileSync(leftover, '{"version": 1, "observations": [')
    const writing = await openAtomic(join(d, 'a.get', 'proxy.json'))
    try {
      expect(await removeStaleTemps(d)).toEqual([leftover])
      expect(existsSync(writing.tmp)).toBe(true)
    } finally {
      await writing.discard()
    }
  })
})
