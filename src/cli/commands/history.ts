import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { term, untrusted as u } from '../../render/index.ts'
import { HarnessError } from '../../util/errors.ts'
import { shownPath } from '../../util/paths.ts'
import { DEFAULTS, GLOBAL, HISTORY_FILE, parseFailOn, str, type Command } from '../options.ts'
import type { HeldDrift } from '../../commands/history.ts'

export const history: Command = {
  name: 'history',
  summary: 'when each finding first appeared, when it cleared, and how often it came back.',
  usage: ['history [options]'],
  about: `Reads the history database that check, verify and merge add every run to (history.db in their
--out folder) and watch keeps (--state), and prints, per contract and check, each episode of a
finding: when it appeared and when it cleared (a run where the contract was not judged neither
starts nor ends one), and how often it flapped (came back after clearing). Worst first. A drift
watch's state still holds open (clean, but not for --recover-after runs yet) is open here too.`,
  options: {
    out: { type: 'string', arg: '<dir>', help: `the --out folder of the runs to read: its ${HISTORY_FILE} (default ${DEFAULTS.out})` },
    history: { type: 'string', arg: '<file>', help: 'the history database to read instead (a shared --history, or watch --state)' },
    contract: { type: 'string', arg: '<id-glob>', help: "only these contracts, e.g. --contract 'media.*'" },
    target: { type: 'string', arg: '<name>', help: 'only this target (sim, a base URL, or a targets-file name)' },
    since: { type: 'string', arg: '<30d|12h|date>', help: 'only runs since then (default: all)' },
    json: { type: 'boolean', help: 'print JSON instead of text' },
    'fail-on': { type: 'string', arg: '<level>', help: 'breaking | warning | info | never: exit 1 while a finding at or above it is\nopen (default breaking)' },
    ...GLOBAL,
  },
  notes: `Exit 0 when no finding at --fail-on is open at the end of the history, 1 when one is; 3 when no
run in the --since window (or in the whole history) judged a contract, or one of --contract and
--target: nothing judged is not all-clear, and the message says when the latest run was. Exit 2
also for a --contract or --target the history has never seen (the message lists those it has).`,
  async run(v, _positionals, io) {
    if (str(v, 'out') !== undefined && str(v, 'history') !== undefined) throw new HarnessError('DW_USAGE', `--out ${str(v, 'out')} and --history ${str(v, 'history')} both name a history: pass --out <folder> for the runs written there, or --history <file>`)
    const file = resolve(io.cwd, str(v, 'history') ?? join(str(v, 'out') ?? DEFAULTS.out, HISTORY_FILE))
    const shown = shownPath(io.cwd, file)
    if (!existsSync(file)) throw new HarnessError('DW_USAGE', `no history at ${shown}: check, verify and merge add every run to ${HISTORY_FILE} in their --out folder (watch: --state); pass --out <that folder> or --history <file>`)
    const failOn = parseFailOn(str(v, 'fail-on'))
    const { readHistory, sinceTime } = await import('../../commands/history.ts')
    const sinceText = str(v, 'since')
    const since = sinceText !== undefined ? sinceTime(sinceText) : undefined
    if (sinceText !== undefined && since === undefined) throw new HarnessError('DW_USAGE', `--since must be like 30d, 12h, 90m or a date (2026-11-01); not "${sinceText}"`)
    const filter = { ...(str(v, 'contract') ? { contract: str(v, 'contract')! } : {}), ...(str(v, 'target') ? { target: str(v, 'target')! } : {}) }
    const r = readHistory({ file, shown, ...(since ? { since } : {}), filter, failOn })
    const at = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')
    if (!r.judged) {
      // Nothing judged is not all-clear (exit 3): say when the latest judged run was.
      const scope = [filter.contract && `--contract ${filter.contract}`, filter.target && `--target ${filter.target}`].filter(Boolean).join(' ')
      const subject = scope ? ` judged ${scope}` : r.anyRun ? ' judged a contract' : ''
      const why = since
        ? `no run since ${at(since)}${subject}; ${r.latestJudged ? `the latest run${subject ? ' that did' : ''} was at ${at(r.latestJudged)} (pass a longer --since)` : 'none before either'}`
        : `no run in ${shown}${subject} yet`
      if (v.json === true) {
        io.stderr(`driftwatch: ${why}`)
        io.stdout(JSON.stringify({ history: shown, runs: r.runs, findings: [] }, null, 2))
      } else io.stdout(`history ${shown}: ${why}`)
      return 3
    }
    const { list, openBefore, held, heldOnly, runs, openNow } = r
    if (v.json === true) {
      const heldList = [...held.values(), ...heldOnly].map((d) => ({ ...(d.scope ? { target: d.scope } : {}), contract: d.contract, check: d.check, severity: d.severity, title: d.title, openedAt: d.openedAt, lastSeenAt: d.lastSeenAt, cleanRuns: d.cleanRuns }))
      io.stdout(JSON.stringify({ history: shown, runs, openNow, findings: list, ...(openBefore.length ? { openBeforeWindow: openBefore } : {}), ...(heldList.length ? { heldOpenByWatch: heldList } : {}) }, null, 2))
      return r.openAtThreshold ? 1 : 0
    }
    io.stdout(`history ${shown}: ${runs} run${runs === 1 ? '' : 's'}${since ? ` since ${at(since)}` : ''}${r.from && r.to ? ` (${at(r.from)} to ${at(r.to)})` : ''}; ${list.length} finding${list.length === 1 ? '' : 's'} seen, ${openNow} open now${held.size + heldOnly.length ? ` (${held.size + heldOnly.length} held open by watch until it recovers)` : ''}`)
    for (const h of list) {
      const e = h.episodes.at(-1)!
      const d = held.get(h)
      io.stdout('')
      // Titles and names were stored from the wire: untrusted, one line.
      io.stdout(String(term`${u(h.open || d ? 'OPEN   ' : 'cleared')} ${h.target === 'sim' ? undefined : term`${u(h.target)} `}${u(h.contract)} ${u(h.check)} (${u(e.severity)}): ${u(e.title)}`))
      io.stdout(`        seen in ${h.seen} of ${h.judged} judged runs; ${h.episodes.length} episode${h.episodes.length === 1 ? '' : 's'}${h.flaps ? `, flapped ${h.flaps}×` : ''}`)
      h.episodes.forEach((ep, i) => {
        const last = i === h.episodes.length - 1
        io.stdout(`        appeared ${at(ep.appearedAt)} (run ${ep.appearedRun})${!ep.clearedAt ? ', still open' : d && last ? `, not seen since ${at(ep.clearedAt)} (run ${ep.clearedRun})` : `, cleared ${at(ep.clearedAt)} (run ${ep.clearedRun})`}`)
      })
      if (d) io.stdout(`        ${recovering(d)}`)
    }
    for (const d of heldOnly) {
      io.stdout('')
      io.stdout(String(term`OPEN    ${d.scope ? term`${u(d.scope)} ` : undefined}${u(d.contract)} ${u(d.check)} (${u(d.severity)}): ${u(d.title)}`))
      io.stdout(`        open in watch's state since ${at(d.openedAt)}, last seen ${at(d.lastSeenAt)}; no run ${since ? 'in the --since window ' : ''}here shows it (live traffic through the proxy opens drifts too)`)
      io.stdout(`        ${recovering(d)}`)
    }
    for (const h of openBefore) {
      const e = h.episodes.at(-1)!
      io.stdout('')
      io.stdout(String(term`OPEN    ${h.target === 'sim' ? undefined : term`${u(h.target)} `}${u(h.contract)} ${u(h.check)} (${u(e.severity)}): ${u(e.title)}`))
      io.stdout(`        open since ${at(e.appearedAt)} (run ${e.appearedRun}); the contract was last judged before --since, so the window shows none of its runs`)
    }
    return r.openAtThreshold ? 1 : 0
  },
}

/** Why watch still holds a drift open, and what clears it. */
function recovering(d: HeldDrift): string {
  const quiet = d.trafficSeenAt ? ', and 5 minutes without live traffic seeing it' : ''
  return `watch holds it open: clean in ${d.cleanRuns} judged run${d.cleanRuns === 1 ? '' : 's'} since; it recovers after --recover-after clean runs (default 2)${quiet}`
}
