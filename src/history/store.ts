/**
 * The history database: one SQLite file (better-sqlite3, synchronous, WAL) that every `check`,
 * `verify` and `merge` run appends to (`history.db` in its --out folder by default: one folder, one
 * series of runs), and that `watch` keeps its memory in (--state).
 *
 * - History: every run (a check, a verify, a watch cycle), what each contract's result was, and
 *   its findings. `driftwatch history` reads episodes from it: when a finding first appeared, when
 *   it cleared, how often it came back.
 * - watch: which drifts are open and whether they were alerted (a restart never re-alerts), each
 *   contract's schedule state, the incidents and alerts, and the requests spent per UTC day.
 */
import { mkdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import { HarnessError } from '../util/errors.ts'
import type { Finding, Severity } from '../model/finding.ts'
import type { ContractState } from '../watch/schedule.ts'

/**
 * 2: cycle_results.requests (a contract's requests in the run, for its latency per request).
 * 3: coverage (which operations live traffic judged, and when: watch probes the others) and
 *    drifts.traffic_seen_at (a drift live traffic saw clears only after a quiet time).
 */
const SCHEMA_VERSION = 3

/**
 * A drift as watch tracks it: one per contract and check. Drifts of one incident share a group
 * (the key of the drift that raised the alert): a drift joins an open group when it is on the same
 * contract, or is the same cause (check and title) on another contract; only a new group alerts.
 */
export interface OpenDrift {
  key: string
  group: string
  contract: string
  check: string
  severity: Severity
  title: string
  openedAt: string
  lastSeenAt: string
  alertedAt?: string
  /** Consecutive judged runs of the contract without it (a probe cycle or a live exchange each count one). */
  cleanRuns: number
  /** When live traffic last saw it (ISO); absent when only probes did. */
  trafficSeenAt?: string
}

function driftOf(r: Record<string, string | number | null>): OpenDrift {
  const d: OpenDrift = { key: r.key as string, group: r.group_key as string, contract: r.contract as string, check: r.check_id as string, severity: r.severity as Severity, title: r.title as string, openedAt: r.opened_at as string, lastSeenAt: r.last_seen_at as string, cleanRuns: r.clean_runs as number }
  if (r.alerted_at !== null) d.alertedAt = r.alerted_at as string
  if (r.traffic_seen_at !== null && r.traffic_seen_at !== undefined) d.trafficSeenAt = r.traffic_seen_at as string
  return d
}

/** One run as history keeps it: a check, a verify, or a watch cycle. */
export interface CycleRow {
  id: number
  command: string
  target: string
  startedAt: string
  finishedAt: string
  unit: string
  requests: number
  outcome: string
  healthy: boolean
}

export class HistoryStore {
  private readonly db: Database.Database
  private readonly statements = new Map<string, Database.Statement>()

  constructor(readonly file: string) {
    try {
      mkdirSync(dirname(file), { recursive: true })
      this.db = new Database(file)
      this.db.pragma('busy_timeout = 5000')
      this.db.pragma('user_version', { simple: true }) // the first read: a file that is not SQLite fails here
    } catch (err) {
      // A file that is there but is not SQLite (a report.json, say), or a folder: the wrong file was passed, not a permissions problem.
      if ((err as { code?: string }).code === 'SQLITE_NOTADB') throw new HarnessError('DW_STATE_FAILED', `${file} is not a driftwatch history (not an SQLite database): pass --history with the history.db that check writes in its --out folder (watch: --state)`, { file })
      let folder = false
      try {
        folder = statSync(file).isDirectory()
      } catch {}
      if (folder) throw new HarnessError('DW_STATE_FAILED', `${file} is a directory: pass the history.db in it (--history ${join(file, 'history.db')}; watch: --state)`, { file })
      throw new HarnessError('DW_STATE_FAILED', `cannot open the history database ${file}: ${(err as Error).message}; pass --history <file> (watch: --state <file>) in a writable folder`, { file })
    }
    try {
      this.prepare(file)
    } catch (err) {
      // Not ours, or newer: leave the file as it was, closed.
      this.db.close()
      throw err
    }
  }

  /** Checks the file is a history this driftwatch reads, then creates or upgrades its tables. */
  private prepare(file: string): void {
    const version = this.db.pragma('user_version', { simple: true }) as number
    if (version > SCHEMA_VERSION) throw new HarnessError('DW_STATE_FAILED', `${file} was written by a newer driftwatch (state version ${version}; this one reads ${SCHEMA_VERSION}): upgrade driftwatch or use another --history/--state file`, { file })
    // Another program's SQLite file passed by mistake: never add tables to it.
    const tables = (this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name)
    if (version === 0 && tables.length > 0 && !tables.includes('cycles')) throw new HarnessError('DW_STATE_FAILED', `${file} is an SQLite database but not a driftwatch history (it has no cycles table): pass --history with the history.db that check writes in its --out folder (watch: --state)`, { file })
    this.db.pragma('journal_mode = WAL')
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS cycles (id INTEGER PRIMARY KEY, command TEXT NOT NULL DEFAULT 'watch', started_at TEXT NOT NULL, finished_at TEXT NOT NULL, target TEXT NOT NULL, unit TEXT NOT NULL, contracts TEXT NOT NULL, requests INTEGER NOT NULL, outcome TEXT NOT NULL, healthy INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS cycle_results (cycle_id INTEGER NOT NULL REFERENCES cycles(id), target TEXT NOT NULL, contract TEXT NOT NULL, status TEXT NOT NULL, duration_ms INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX IF NOT EXISTS cycle_results_contract ON cycle_results(contract);
      CREATE TABLE IF NOT EXISTS cycle_findings (cycle_id INTEGER NOT NULL REFERENCES cycles(id), target TEXT NOT NULL DEFAULT '', contract TEXT NOT NULL, check_id TEXT NOT NULL, severity TEXT NOT NULL, title TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS cycle_findings_contract ON cycle_findings(contract, check_id);
      CREATE TABLE IF NOT EXISTS contracts (id TEXT PRIMARY KEY, last_run_at INTEGER, last_changed_at INTEGER, open INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS drifts (key TEXT PRIMARY KEY, group_key TEXT NOT NULL, contract TEXT NOT NULL, check_id TEXT NOT NULL, severity TEXT NOT NULL, title TEXT NOT NULL, opened_at TEXT NOT NULL, last_seen_at TEXT NOT NULL, alerted_at TEXT, clean_runs INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS incidents (group_key TEXT NOT NULL, contract TEXT NOT NULL, check_id TEXT NOT NULL, severity TEXT NOT NULL, title TEXT NOT NULL, opened_at TEXT NOT NULL, closed_at TEXT);
      CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, title TEXT NOT NULL, delivered TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS spend (day TEXT PRIMARY KEY, requests INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS coverage (scope TEXT NOT NULL, contract TEXT NOT NULL, judged_at INTEGER NOT NULL, exchanges INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (scope, contract));
      CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, sink TEXT NOT NULL, alert TEXT NOT NULL, first_at INTEGER NOT NULL, attempts INTEGER NOT NULL, next_at INTEGER NOT NULL, last_error TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS outbox_sink ON outbox(sink, id);
    `)
    const columns = (table: string) => (this.db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name)
    if (!columns('cycle_results').includes('requests')) this.db.exec('ALTER TABLE cycle_results ADD COLUMN requests INTEGER NOT NULL DEFAULT 0')
    if (!columns('drifts').includes('traffic_seen_at')) this.db.exec('ALTER TABLE drifts ADD COLUMN traffic_seen_at TEXT')
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`)
  }

  /** Open drifts; with a scope (a target's name), only that target's (their keys start with `<scope>/`). */
  openDrifts(scope?: string): OpenDrift[] {
    // Read for every exchange the proxy judges: a prepared statement and a plain mapping (tens of µs, not hundreds).
    const rows = (scope ? this.stmt("SELECT * FROM drifts WHERE key LIKE ? ESCAPE '\\' ORDER BY opened_at").all(`${likeEscape(scope)}/%`) : this.stmt("SELECT * FROM drifts WHERE key NOT LIKE '%/%' ORDER BY opened_at").all()) as Record<string, string | number | null>[]
    return rows.map(driftOf)
  }

  /**
   * Every drift open in the file, each with its scope (a target's name under watch --targets; ''
   * for a single-target watch or the proxy): what `history` shows as held open by watch.
   */
  allOpenDrifts(): (OpenDrift & { scope: string })[] {
    const rows = this.stmt('SELECT * FROM drifts ORDER BY opened_at').all() as Record<string, string | number | null>[]
    return rows.map((r) => {
      const d = driftOf(r)
      // `[<scope>/]<contract> <check>`: contract ids and checks hold no '/' and no space.
      const head = d.key.slice(0, d.key.lastIndexOf(' '))
      return { ...d, scope: head.includes('/') ? head.slice(0, head.lastIndexOf('/')) : '' }
    })
  }

  /** A prepared statement, prepared once per store. */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql)
    if (!st) {
      st = this.db.prepare(sql)
      this.statements.set(sql, st)
    }
    return st
  }

  /** Rows with snake_case columns as camelCase keys; NULL columns left out. */
  private rows(sql: string, ...params: unknown[]): Record<string, any>[] {
    return (this.db.prepare(sql).all(...params) as Record<string, unknown>[]).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null).map(([k, v]) => [k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()), v])))
  }

  saveDrift(d: OpenDrift): void {
    this.stmt('INSERT INTO drifts (key, group_key, contract, check_id, severity, title, opened_at, last_seen_at, alerted_at, clean_runs, traffic_seen_at) VALUES (@key, @group, @contract, @check, @severity, @title, @openedAt, @lastSeenAt, @alertedAt, @cleanRuns, @trafficSeenAt) ON CONFLICT(key) DO UPDATE SET severity = @severity, title = @title, last_seen_at = @lastSeenAt, alerted_at = @alertedAt, clean_runs = @cleanRuns, traffic_seen_at = @trafficSeenAt')
      .run({ ...d, alertedAt: d.alertedAt ?? null, trafficSeenAt: d.trafficSeenAt ?? null })
  }

  /**
   * Runs `fn` as one write transaction taken at its start (BEGIN IMMEDIATE): `watch` and `proxy`
   * may share this file from two processes, and each reads the open drifts and writes what it
   * decided without the other deciding in between (the second waits, up to busy_timeout).
   */
  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate()
  }

  /** Live traffic judged `contract` (an operation) at `at` (epoch ms), `exchanges` more times since the last call. */
  cover(contract: string, at: number, exchanges = 1, scope?: string): void {
    this.stmt('INSERT INTO coverage (scope, contract, judged_at, exchanges) VALUES (?, ?, ?, ?) ON CONFLICT(scope, contract) DO UPDATE SET judged_at = max(judged_at, excluded.judged_at), exchanges = exchanges + excluded.exchanges').run(scope ?? '', contract, at, exchanges)
  }

  /** Operations live traffic judged at or after `since` (epoch ms), with when it last did. */
  coveredSince(since: number, scope?: string): Map<string, number> {
    const rows = this.stmt('SELECT contract, judged_at FROM coverage WHERE scope = ? AND judged_at >= ?').all(scope ?? '', since) as { contract: string; judged_at: number }[]
    return new Map(rows.map((r) => [r.contract, r.judged_at]))
  }

  closeDrift(key: string): void {
    this.stmt('DELETE FROM drifts WHERE key = ?').run(key)
  }

  /** An incident (an alerted group of drifts) opens with the drift that raised it. */
  openIncident(d: OpenDrift): void {
    this.stmt('INSERT INTO incidents (group_key, contract, check_id, severity, title, opened_at) VALUES (?, ?, ?, ?, ?, ?)').run(d.group, d.contract, d.check, d.severity, d.title, d.openedAt)
  }

  /** The open incident of a group: the drift that raised its alert. */
  incident(group: string): Pick<OpenDrift, 'contract' | 'check' | 'severity' | 'title' | 'openedAt'> | undefined {
    const r = this.stmt('SELECT * FROM incidents WHERE group_key = ? AND closed_at IS NULL ORDER BY rowid DESC LIMIT 1').get(group) as Record<string, string> | undefined
    return r && { contract: r.contract!, check: r.check_id!, severity: r.severity as Severity, title: r.title!, openedAt: r.opened_at! }
  }

  closeIncident(group: string, at: string): void {
    this.stmt('UPDATE incidents SET closed_at = ? WHERE group_key = ? AND closed_at IS NULL').run(at, group)
  }

  /** Each contract's schedule state; with a scope, that target's (stored as `<scope>/<contract>`). */
  contractStates(scope?: string): Map<string, ContractState> {
    const out = new Map<string, ContractState>()
    const prefix = scope ? `${scope}/` : ''
    for (const r of this.db.prepare('SELECT * FROM contracts').all() as Record<string, number | string | null>[]) {
      const id = r.id as string
      if (scope ? !id.startsWith(prefix) : id.includes('/')) continue
      out.set(id.slice(prefix.length), { ...(r.last_run_at !== null ? { lastRunAt: r.last_run_at as number } : {}), ...(r.last_changed_at !== null ? { lastChangedAt: r.last_changed_at as number } : {}), open: r.open === 1 })
    }
    return out
  }

  saveContractStates(states: ReadonlyMap<string, ContractState>, scope?: string): void {
    const put = this.db.prepare('INSERT INTO contracts (id, last_run_at, last_changed_at, open) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET last_run_at = excluded.last_run_at, last_changed_at = excluded.last_changed_at, open = excluded.open')
    this.db.transaction(() => {
      for (const [id, s] of states) put.run(scope ? `${scope}/${id}` : id, s.lastRunAt ?? null, s.lastChangedAt ?? null, s.open ? 1 : 0)
    })()
  }

  /**
   * Appends a run (the history): the run, each contract's result (per target in a run of several),
   * and its findings; returns its id.
   */
  addCycle(c: Omit<CycleRow, 'id' | 'command'> & { command?: string; contracts: readonly string[] }, findings: readonly Finding[], results: readonly { contract: string; target?: string; status: string; durationMs?: number; probes?: number }[] = []): number {
    return this.db.transaction(() => {
      const id = Number(this.db.prepare('INSERT INTO cycles (command, started_at, finished_at, target, unit, contracts, requests, outcome, healthy) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(c.command ?? 'watch', c.startedAt, c.finishedAt, c.target, c.unit, c.contracts.join(','), c.requests, c.outcome, c.healthy ? 1 : 0).lastInsertRowid)
      const res = this.db.prepare('INSERT INTO cycle_results (cycle_id, target, contract, status, duration_ms, requests) VALUES (?, ?, ?, ?, ?, ?)')
      for (const r of results) res.run(id, r.target ?? c.target, r.contract, r.status, Math.round(r.durationMs ?? 0), r.probes ?? 0)
      const put = this.db.prepare('INSERT INTO cycle_findings (cycle_id, target, contract, check_id, severity, title) VALUES (?, ?, ?, ?, ?, ?)')
      for (const f of findings) put.run(id, f.target ?? c.target, f.contract, f.check, f.severity, f.title)
      const day = c.finishedAt.slice(0, 10)
      this.db.prepare('INSERT INTO spend (day, requests) VALUES (?, ?) ON CONFLICT(day) DO UPDATE SET requests = requests + excluded.requests').run(day, c.requests)
      return id
    })()
  }

  /**
   * Every contract result of the runs that started at or after `since` (ISO), oldest first, with the
   * findings of that run on that contract. `at` is the run's start: the one time base of every report
   * (a finding is dated at its run's start; a run against Meta can take minutes).
   */
  timeline(since?: string): { run: number; command: string; at: string; target: string; contract: string; status: string; durationMs: number; findings: { check: string; severity: Severity; title: string }[] }[] {
    const rows = this.rows(`SELECT r.cycle_id AS run, c.command, c.started_at AS at, r.target, r.contract, r.status, r.duration_ms FROM cycle_results r JOIN cycles c ON c.id = r.cycle_id ${since ? 'WHERE c.started_at >= ?' : ''} ORDER BY c.started_at, r.cycle_id`, ...(since ? [since] : []))
    const found = this.rows(`SELECT f.cycle_id AS run, f.target, f.contract, f.check_id, f.severity, f.title FROM cycle_findings f JOIN cycles c ON c.id = f.cycle_id ${since ? 'WHERE c.started_at >= ?' : ''}`, ...(since ? [since] : []))
    const byKey = new Map<string, { check: string; severity: Severity; title: string }[]>()
    for (const f of found) {
      const k = `${f.run}\u0000${f.target}\u0000${f.contract}`
      const list = byKey.get(k) ?? []
      list.push({ check: f.checkId, severity: f.severity, title: f.title })
      byKey.set(k, list)
    }
    return rows.map((r) => ({ run: r.run, command: r.command, at: r.at, target: r.target, contract: r.contract, status: r.status, durationMs: r.durationMs ?? 0, findings: byKey.get(`${r.run}\u0000${r.target}\u0000${r.contract}`) ?? [] }))
  }

  /**
   * Each contract's latest results (at most `perContract`) of runs that started before `before` (ISO),
   * oldest first: the past that report.html draws under a run. `at` is the run's start, as in
   * timeline(). Bounded, so a long watch history stays cheap.
   */
  recentResults(before: string, perContract = 60): { at: string; target: string; contract: string; status: string; durationMs: number; requests: number }[] {
    return this.rows(
      `SELECT at, target, contract, status, duration_ms, requests FROM (
         SELECT c.started_at AS at, r.target, r.contract, r.status, r.duration_ms, r.requests, r.cycle_id,
                ROW_NUMBER() OVER (PARTITION BY r.target, r.contract ORDER BY c.started_at DESC, r.cycle_id DESC) AS n
         FROM cycle_results r JOIN cycles c ON c.id = r.cycle_id WHERE c.started_at < ?)
       WHERE n <= ? ORDER BY at, cycle_id`,
      before,
      perContract,
    ).map((r) => ({ at: r.at, target: r.target, contract: r.contract, status: r.status, durationMs: r.durationMs ?? 0, requests: r.requests ?? 0 }))
  }

  /** How many runs the history holds with results for `target` (one target of a run of several counts too). */
  runsOf(target: string): number {
    return (this.db.prepare('SELECT COUNT(DISTINCT cycle_id) AS n FROM cycle_results WHERE target = ?').get(target) as { n: number }).n
  }

  /** Whether any of these targets has a result that finished at or after `at` (a merge's shards, already added). */
  hasResultsSince(at: string, targets: readonly string[]): boolean {
    if (targets.length === 0) return false
    const row = this.db.prepare(`SELECT 1 FROM cycle_results r JOIN cycles c ON c.id = r.cycle_id WHERE c.finished_at >= ? AND r.target IN (${targets.map(() => '?').join(', ')}) LIMIT 1`).get(at, ...targets)
    return row !== undefined
  }

  cycles(limit = 100): CycleRow[] {
    return this.rows('SELECT id, command, target, started_at, finished_at, unit, requests, outcome, healthy FROM cycles ORDER BY id DESC LIMIT ?', limit).map((r) => ({ ...r, healthy: r.healthy === 1 }) as CycleRow)
  }

  /** Requests spent on a UTC day (`YYYY-MM-DD`). */
  spentOn(day: string): number {
    return ((this.db.prepare('SELECT requests FROM spend WHERE day = ?').get(day) as { requests: number } | undefined)?.requests) ?? 0
  }

  lastHealthyCycle(): string | undefined {
    return (this.db.prepare('SELECT finished_at FROM cycles WHERE healthy = 1 ORDER BY id DESC LIMIT 1').get() as { finished_at: string } | undefined)?.finished_at
  }

  addAlert(a: { at: string; kind: string; key: string; title: string; delivered: string }): void {
    this.stmt('INSERT INTO alerts (at, kind, key, title, delivered) VALUES (?, ?, ?, ?, ?)').run(a.at, a.kind, a.key, a.title, a.delivered)
  }

  /**
   * The outbox: alerts a sink did not take, kept to be sent again (Incidents.redeliver), per sink
   * (its id, never its URL) and in the order they were raised. The alert is stored as it left:
   * redacted already.
   */
  queueAlert(sink: string, alert: string, at: number, attempts: number, nextAt: number, error: string): void {
    this.stmt('INSERT INTO outbox (sink, alert, first_at, attempts, next_at, last_error) VALUES (?, ?, ?, ?, ?, ?)').run(sink, alert, at, attempts, nextAt, error)
  }

  /** Alerts waiting for a sink, oldest first. */
  queuedAlerts(sink: string): OutboxRow[] {
    return (this.stmt('SELECT id, sink, alert, first_at, attempts, next_at, last_error FROM outbox WHERE sink = ? ORDER BY id').all(sink) as Record<string, string | number>[]).map((r) => ({ id: r.id as number, sink: r.sink as string, alert: r.alert as string, firstAt: r.first_at as number, attempts: r.attempts as number, nextAt: r.next_at as number, lastError: r.last_error as string }))
  }

  /** Alerts waiting, every sink. */
  queuedCount(): number {
    return (this.stmt('SELECT count(*) AS n FROM outbox').get() as { n: number }).n
  }

  /**
   * Takes a queued alert for one attempt: moves its next attempt to `leaseUntil` if it is still as
   * `row` read it. False when another process (watch and proxy share the file) took it first.
   */
  claimAlert(row: Pick<OutboxRow, 'id' | 'nextAt'>, leaseUntil: number): boolean {
    return this.stmt('UPDATE outbox SET next_at = ? WHERE id = ? AND next_at = ?').run(leaseUntil, row.id, row.nextAt).changes === 1
  }

  retryAlert(id: number, attempts: number, nextAt: number, error: string): void {
    this.stmt('UPDATE outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?').run(attempts, nextAt, error, id)
  }

  dropAlert(id: number): void {
    this.stmt('DELETE FROM outbox WHERE id = ?').run(id)
  }

  alerts(): { at: string; kind: string; key: string; title: string; delivered: string }[] {
    return this.db.prepare('SELECT at, kind, key, title, delivered FROM alerts ORDER BY id').all() as { at: string; kind: string; key: string; title: string; delivered: string }[]
  }

  close(): void {
    this.db.close()
  }
}

/** An alert waiting in the outbox. */
export interface OutboxRow {
  id: number
  sink: string
  /** The alert as JSON, redacted. */
  alert: string
  /** Epoch ms of the first attempt. */
  firstAt: number
  attempts: number
  /** Epoch ms of the next attempt. */
  nextAt: number
  lastError: string
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`)
}
