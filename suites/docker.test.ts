/**
 * The Dockerfile and the compose example: every command line they hold (the image's CMD, the
 * compose services, the `docker run` examples in the Dockerfile's header) must parse with the CLI
 * as it is, every path the image copies must exist, and every folder a command writes (by default,
 * or where those command lines point it) must be writable by the image's USER, by the Dockerfile's
 * own instructions. The image used to run as node with /app root's: every command but watch failed
 * writing reports/. (No Docker daemon runs in CI here: the Dockerfile is read, not built.)
 */
import { WEBHOOK_DEFAULTS } from '../src/cli/commands/webhook.ts'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, posix, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { COMMAND_OPTIONS } from '../src/cli/index.ts'
import { DEFAULTS, HISTORY_FILE, parseCommand, type Values } from '../src/cli/options.ts'
import { COMMANDS } from '../src/cli/main.ts'

/** Parses a driftwatch argument list the way main() would, without running it. */
function parses(args: string[]): Values {
  const cmd = COMMANDS.find((c) => c.name === args[0])
  expect(cmd, `unknown command ${args[0]}`).toBeDefined()
  let values: Values = {}
  expect(() => ({ values } = parseCommand(cmd!, args.slice(1))), args.join(' ')).not.toThrow()
  return values
}

/**
 * What each command writes when no option says otherwise (relative to the working directory),
 * from the CLI's own defaults. Every command is listed: a new one must say what it writes.
 */
const WRITES: Record<string, string[]> = {
  check: [DEFAULTS.out, join(DEFAULTS.out, HISTORY_FILE)],
  verify: [DEFAULTS.verifyOut, join(DEFAULTS.verifyOut, HISTORY_FILE)],
  merge: [DEFAULTS.mergeOut, join(DEFAULTS.mergeOut, HISTORY_FILE)],
  gate: [DEFAULTS.gateOut],
  // Into the golden recordings (an existing operation's folder too); proxy also into its journal.
  record: [DEFAULTS.recordOut, DEFAULTS.recordings, join(DEFAULTS.recordings, 'media.retrieve-url')],
  // And watch's state when --alert-webhook is given without --state.
  proxy: [DEFAULTS.proxyOut, DEFAULTS.recordings, join(DEFAULTS.recordings, '.journal'), DEFAULTS.state],
  import: [DEFAULTS.importOut, join(DEFAULTS.importOut, 'operations'), join(DEFAULTS.importOut, 'schemas')],
  watch: [DEFAULTS.state],
  // init writes into the application's repository it is run in (--dir), on a developer's machine,
  // never into the image's own folder: nothing of it is the container's to own.
  init: [],
  // The session report and its journal; watch's state when --alert-webhook is given without --state.
  webhook: [WEBHOOK_DEFAULTS.out, join(WEBHOOK_DEFAULTS.out, '.journal'), DEFAULTS.state],
  // These write nothing: history's --out and --history name what it reads.
  history: [],
  diff: [],
  sim: [],
}
const readOnly = (cmd: string) => (WRITES[cmd] ?? []).length === 0

/** Options whose value is a place the command writes (a folder, or a file in one). */
const WRITTEN_OPTIONS: Record<string, 'dir' | 'file'> = { out: 'dir', state: 'file', history: 'file' }
/** `recordings` is written by these commands only (the others read the golden recordings). */
const RECORDS = new Set(['record', 'proxy'])

/**
 * The last stage of a Dockerfile as a small file-ownership model: which user owns each path after
 * WORKDIR, COPY (--chown), RUN mkdir/chown and USER, and whether a path exists (a copied folder's
 * contents are taken from the build context as it is here; what .dockerignore drops from a copied
 * folder would have that folder's owner anyway).
 */
class ImageModel {
  private readonly owners: { path: string; owner: string; tree: boolean }[] = []
  private readonly dirs = new Set(['/', '/tmp', '/home/node', '/usr', '/usr/local'])
  private readonly copies: { dst: string; src: string }[] = []
  user = 'root'
  workdir = '/'

  constructor(text: string, context: string) {
    const stage = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    const last = stage.map((l) => /^FROM /i.test(l)).lastIndexOf(true)
    for (const line of stage.slice(last + 1)) {
      const [instr, ...rest] = line.split(/\s+/)
      const at = (p: string) => posix.resolve(this.workdir, p)
      if (instr === 'WORKDIR') this.mkdir((this.workdir = at(rest[0]!)))
      else if (instr === 'USER') this.user = rest[0]!.split(':')[0]!
      else if (instr === 'COPY') {
        const chown = rest.find((a) => a.startsWith('--chown='))?.slice('--chown='.length).split(':')[0]
        const from = rest.some((a) => a.startsWith('--from='))
        const [src, dst] = rest.filter((a) => !a.startsWith('--'))
        const target = /\/$|^\.$/.test(dst!) ? posix.join(at(dst!), posix.basename(src!)) : at(dst!)
        this.mkdir(posix.dirname(target))
        // A stage's files are not in the build context: take them as present, with no subfolders known.
        this.copies.push({ dst: target, src: from ? '' : join(context, src!) })
        this.owners.push({ path: target, owner: chown ?? 'root', tree: true })
      } else if (instr === 'RUN') {
        for (const cmd of rest.join(' ').split(/&&|;/).map((c) => c.trim().split(/\s+/))) {
          if (cmd[0] === 'mkdir') for (const p of cmd.slice(1).filter((a) => !a.startsWith('-'))) this.mkdir(at(p))
          if (cmd[0] === 'chown') {
            const args = cmd.slice(1)
            const tree = args.includes('-R')
            const [who, ...paths] = args.filter((a) => !a.startsWith('-'))
            for (const p of paths) this.owners.push({ path: at(p), owner: who!.split(':')[0]!, tree })
          }
        }
      }
    }
  }

  /** mkdir -p as the current user: only the folders that were not there are theirs. */
  private mkdir(path: string): void {
    for (let p = path; !this.exists(p); p = posix.dirname(p)) {
      this.dirs.add(p)
      this.owners.push({ path: p, owner: this.user, tree: false })
    }
  }

  exists(path: string): boolean {
    if (this.dirs.has(path)) return true
    return this.copies.some((c) => c.dst === path || (path.startsWith(`${c.dst}/`) && c.src !== '' && existsSync(join(c.src, posix.relative(c.dst, path)))))
  }

  owner(path: string): string {
    for (let i = this.owners.length - 1; i >= 0; i--) {
      const o = this.owners[i]!
      if (o.path === path || (o.tree && path.startsWith(`${o.path}/`))) return o.owner
    }
    return path === '/home/node' ? 'node' : 'root'
  }

  /** Whether `user` can create or write `path`: it owns the path, or the nearest folder above it that exists (/tmp: anyone). */
  writable(path: string, user = this.user): boolean {
    if (user === 'root' || user === '0') return true
    let p = path
    while (!this.exists(p)) p = posix.dirname(p)
    return p === '/tmp' || this.owner(p) === user
  }
}

const DOCKERFILE = readFileSync('Dockerfile', 'utf8')
const image = new ImageModel(DOCKERFILE, process.cwd())

/** The places a command line writes: what its options name, else the command's defaults. */
function written(args: string[], values: Values): string[] {
  const cmd = args[0]!
  const out: string[] = []
  if (readOnly(cmd)) return out
  for (const [opt, kind] of Object.entries(WRITTEN_OPTIONS)) {
    const v = values[opt]
    if (typeof v === 'string') out.push(kind === 'dir' ? v : dirname(v))
  }
  if (RECORDS.has(cmd) && typeof values.recordings === 'string') out.push(values.recordings)
  const given = new Set(Object.keys(values))
  // Defaults the command line did not override (a given --out replaces the default out and the history in it).
  for (const p of WRITES[cmd] ?? []) {
    const fromOut = [DEFAULTS.out, DEFAULTS.verifyOut, DEFAULTS.mergeOut, DEFAULTS.gateOut, DEFAULTS.recordOut, DEFAULTS.proxyOut, DEFAULTS.importOut].some((d) => p === d || p.startsWith(`${d}/`))
    if (fromOut && given.has('out')) continue
    if (p === DEFAULTS.state && given.has('state')) continue
    if (p.startsWith(DEFAULTS.recordings) && given.has('recordings')) continue
    out.push(p)
  }
  return out
}

describe('Dockerfile', () => {
  it('copies only what exists, and its default command parses', () => {
    for (const m of DOCKERFILE.matchAll(/^COPY (?:--chown=\S+ )?(?!--from)(\S+)/gm)) expect(existsSync(m[1]!), m[1]).toBe(true)
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(DOCKERFILE)![1]!) as string[]
    parses(cmd)
    expect(cmd[0]).toBe('watch')
    expect(DOCKERFILE).toContain('ENTRYPOINT ["node", "bin/driftwatch.js"]')
    expect(COMMAND_OPTIONS.watch!['metrics-host']).toBeDefined()
  })

  it('runs as a user that is not root', () => {
    expect(image.user).not.toBe('root')
    expect(image.user).not.toBe('0')
  })

  it('lists what every command writes (a new command must say)', () => {
    expect(Object.keys(WRITES).sort()).toEqual(COMMANDS.map((c) => c.name).sort())
    // The table follows the option tables: each --out, --state, and record's and proxy's --recordings default is in it.
    for (const c of COMMANDS.filter((x) => !readOnly(x.name))) {
      for (const opt of ['out', 'state', ...(RECORDS.has(c.name) ? ['recordings'] : [])]) {
        const def = /\(default ([^\s;,)]+)/.exec(c.options[opt]?.help ?? '')?.[1]
        if (def) expect(WRITES[c.name], `${c.name} --${opt}`).toContain(def)
      }
    }
  })

  it.each(Object.entries(WRITES))('%s: every place it writes by default is writable by the image user', (name, paths) => {
    for (const p of paths) expect(image.writable(posix.resolve(image.workdir, p)), `${name} writes ${p} (${posix.resolve(image.workdir, p)})`).toBe(true)
  })

  it('the model tells a root-owned folder from a writable one (it can say no)', () => {
    expect(image.writable(posix.resolve(image.workdir, 'src'))).toBe(false)
    expect(image.writable(posix.resolve(image.workdir, 'contracts/meta'))).toBe(false)
    expect(image.writable(posix.resolve(image.workdir, 'reports/latest'), 'nobody')).toBe(false)
    // The image as it was (no chown): reports/ would be root's, under a root-owned /app.
    const before = new ImageModel(DOCKERFILE.replace(/^COPY --chown=\S+ /m, 'COPY ').replace(/^RUN mkdir -p \/app[^\n]*\n[^\n]*\n/m, 'RUN mkdir -p /data && chown node:node /data\n'), process.cwd())
    expect(before.writable('/app/reports/latest')).toBe(false)
    expect(before.writable('/app/recordings/meta/.journal')).toBe(false)
    expect(before.writable('/data/state.db')).toBe(true)
  })

  it('the docker run examples in its header parse, and write only where the image user may', () => {
    const lines = DOCKERFILE.replace(/\\\n#/g, ' ').split('\n').filter((l) => /^#\s+docker run /.test(l))
    expect(lines.length).toBeGreaterThanOrEqual(3)
    for (const l of lines) {
      const args = l.replace(/^.*?\bdriftwatch (?=[a-z]+\b)/, '').trim().split(/\s+/)
      const values = parses(args)
      for (const p of written(args, values)) expect(image.writable(posix.resolve(image.workdir, p)), `${l.trim()}: writes ${p}`).toBe(true)
    }
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(DOCKERFILE)![1]!) as string[]
    for (const p of written(cmd, parses(cmd))) expect(image.writable(posix.resolve(image.workdir, p)), `CMD writes ${p}`).toBe(true)
  })
})

for (const file of ['examples/watch/compose.yaml', 'examples/proxy/compose.yaml', 'examples/proxy/demo.compose.yaml', 'examples/watch/demo.compose.yaml']) {
  describe(file, () => {
    const dir = dirname(file)
    const compose = parse(readFileSync(file, 'utf8')) as { services: Record<string, { command: string[]; build?: string; image?: string; volumes?: string[] }> }
    const ours = Object.keys(compose.services).filter((n) => compose.services[n]!.build !== undefined)
    it.each(ours)('service %s runs a command line the CLI accepts, writing where the image user may', (name) => {
      const s = compose.services[name]!
      expect(existsSync(`${dir}/${s.build}/Dockerfile`)).toBe(true)
      expect(relative(process.cwd(), join(dir, s.build!))).toBe('')
      // ${VAR:?message} is filled in by compose; any URL stands in for it here.
      const args = s.command.map((a) => (a.startsWith('${') ? 'https://hooks.example.com/x' : a))
      const values = parses(args)
      for (const p of written(args, values)) {
        expect(image.writable(posix.resolve(image.workdir, p)), `${name} writes ${p}`).toBe(true)
        // A named volume mounted there starts with the image's folder and its owner; a path outside any volume is lost with the container.
        if (p.startsWith('/')) expect(s.volumes?.some((v) => p.startsWith(`${v.split(':')[1]}/`) || p === v.split(':')[1]), `${name}: ${p} is in a volume`).toBe(true)
      }
    })
    // A webhook URL is a secret: on a command line it shows in ps and /proc/<pid>/cmdline to every user of the host.
    it('passes no webhook on a command line (DRIFTWATCH_ALERT_WEBHOOK comes from the environment)', () => {
      for (const name of ours) expect(compose.services[name]!.command.join(' '), name).not.toMatch(/--alert-webhook|https?:\/\/hooks\./)
    })
    // Compose fills in every variable of a file before it picks services: one required variable would stop a demo that needs no credentials.
    if (file.endsWith('demo.compose.yaml')) it('needs no variable from the environment', () => {
      expect(readFileSync(file, 'utf8')).not.toMatch(/\$\{/)
    })
    // Services that are not driftwatch (the demo app): what they mount from the example folder is there.
    const others = Object.keys(compose.services).filter((n) => compose.services[n]!.build === undefined)
    if (others.length) it.each(others)('service %s mounts files that exist', (name) => {
      const mounts = (compose.services[name]!.volumes ?? []).filter((v) => v.startsWith('./'))
      expect(mounts.length).toBeGreaterThan(0)
      for (const m of mounts) expect(existsSync(join(dir, m.split(':')[0]!)), m).toBe(true)
    })
  })
}
