/**
 * `driftwatch init` (issue 20 item 2) in an application's repository: it writes the config, the
 * workflows, a targets file with live accounts only and .env.example; it never overwrites and says
 * what it left; what it writes parses and works: the config is read by every command, the
 * workflows' driftwatch commands parse, and `check --target sim` then runs there with the pack
 * driftwatch ships (the folder has no contracts/).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { main, COMMANDS } from '../../src/cli/main.ts'
import { parseCommand } from '../../src/cli/options.ts'
import { readConfig } from '../../src/cli/config-file.ts'
import { INIT_FILES } from '../../src/commands/init.ts'
import { loadTargets } from '../../src/targets/targets-file.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const { dir: tempDir } = tempDirs('dw-init-')

async function run(args: string[], cwd: string) {
  const out: string[] = []
  const code = await main(args, { stdout: (l) => out.push(l), stderr: (l) => out.push(l), env: {}, cwd })
  return { code, text: out.join('\n') }
}

describe('driftwatch init', () => {
  it('writes every file in an empty repository, and says what to do next', async () => {
    const d = tempDir()
    const r = await run(['init'], d)
    expect(r.code).toBe(0)
    for (const f of Object.keys(INIT_FILES)) expect(existsSync(join(d, f)), f).toBe(true)
    expect(r.text).toContain(`${Object.keys(INIT_FILES).length} files written, 0 left alone`)
    expect(r.text).toContain('Next:')
  })

  it('never overwrites: a file that exists is left as it is, and named', async () => {
    const d = tempDir()
    writeFileSync(join(d, 'driftwatch.config.yaml'), 'check:\n  quiet: true\n')
    const r = await run(['init'], d)
    expect(r.code).toBe(0)
    expect(readFileSync(join(d, 'driftwatch.config.yaml'), 'utf8')).toBe('check:\n  quiet: true\n')
    expect(r.text).toContain('left alone driftwatch.config.yaml (it exists')
    const again = await run(['init'], d)
    expect(again.text).toContain(`0 files written, ${Object.keys(INIT_FILES).length} left alone`)
  })

  it('what it writes is valid: the config for every command, live targets only, workflows whose driftwatch commands parse and take secrets by name', async () => {
    const d = tempDir()
    await run(['init'], d)
    expect(readConfig(d, {}, COMMANDS)?.sections.check).toMatchObject({ target: 'https://graph.facebook.com' })
    const targets = loadTargets(join(d, 'driftwatch.targets.yaml'))
    expect(targets.every((t) => t.target !== 'sim')).toBe(true)
    const workflows = readdirSync(join(d, '.github', 'workflows'))
    expect(workflows.sort()).toEqual(['driftwatch-accounts.yml', 'driftwatch-nightly.yml', 'driftwatch-pre-deploy.yml'])
    for (const w of workflows) {
      const text = readFileSync(join(d, '.github', 'workflows', w), 'utf8')
      const doc = parse(text) as { jobs: Record<string, { steps: { run?: string }[] }> }
      for (const job of Object.values(doc.jobs)) {
        for (const step of job.steps) {
          if (!step.run) continue
          expect(step.run, `${w}: no \${{ }} inside run:`).not.toContain('${{')
          for (const line of step.run.split('\n').filter((l) => l.includes('npx driftwatch'))) {
            const args = line.trim().replace(/^npx driftwatch /, '').replace(/"\$SHARD\/2"/, '1/2').split(/\s+/)
            const cmd = COMMANDS.find((c) => c.name === args[0])!
            expect(cmd, line).toBeDefined()
            expect(() => parseCommand(cmd, args.slice(1)), line).not.toThrow()
          }
        }
      }
      expect(text).not.toMatch(/toJSON\(secrets\)/)
    }
  })

  it('then check --target sim runs there, with the pack driftwatch ships and the config init wrote', async () => {
    const d = tempDir()
    await run(['init'], d)
    const r = await run(['check', '--target', 'sim', '--only', 'phone-numbers.get', '--no-history'], d)
    expect(r.code, r.text).toBe(0)
    expect(JSON.parse(readFileSync(join(d, 'reports', 'driftwatch', 'report.json'), 'utf8'))).toMatchObject({ outcome: 'pass' })
    // Local runs print no GitHub workflow commands: the nightly workflow adds --format github itself.
    expect(existsSync(join(d, 'reports', 'driftwatch', 'github-annotations.txt'))).toBe(false)
    expect(r.text).not.toContain('::notice')
    expect(existsSync(join(d, 'reports', 'driftwatch', 'report.html'))).toBe(true)
  }, 60_000)

  it('and history reads the history that check added to (the config sends both to reports/driftwatch)', async () => {
    const d = tempDir()
    await run(['init'], d)
    expect((await run(['check', '--target', 'sim', '--only', 'phone-numbers.get'], d)).code).toBe(0)
    const h = await run(['history'], d)
    expect(h.code, h.text).toBe(0)
    expect(h.text).not.toContain('no history at')
  }, 60_000)

  it("warns when the folder is inside a repository whose root is above it (a monorepo's package): GitHub would not run its workflows", async () => {
    const repo = tempDir()
    mkdirSync(join(repo, '.git'))
    mkdirSync(join(repo, 'packages', 'api'), { recursive: true })
    const sub = await run(['init', '--dir', 'packages/api'], repo)
    expect(sub.code).toBe(0)
    expect(sub.text).toContain('driftwatch: warning: packages/api is inside the git repository at ., and GitHub runs only the workflows in ./.github/workflows')
    expect(sub.text).toContain('working-directory to packages/api')
    // From inside the package, the path is still the one from the repository's root.
    const inside = await run(['init'], join(repo, 'packages', 'api'))
    expect(inside.text).toContain('working-directory to packages/api, and prefix packages/api/ to the paths')
    const atRoot = await run(['init'], repo)
    expect(atRoot.text).not.toContain('warning')
  })

  it('refuses a --dir it cannot write, naming it, before writing anything (a path under /proc hung it before)', async () => {
    const d = tempDir()
    writeFileSync(join(d, 'a-file'), '')
    for (const bad of ['/proc/driftwatch-nope', join(d, 'a-file')]) {
      const r = await run(['init', '--dir', bad], d)
      expect(r.code, r.text).toBe(2)
      expect(r.text).toMatch(/cannot create output directory .*; pass --dir with a writable directory/)
      expect(r.text).not.toContain('internal error')
    }
    expect(readdirSync(d)).toEqual(['a-file'])
  }, 60_000)

  it("says how to set the variables: driftwatch reads the environment, not .env", async () => {
    const d = tempDir()
    const r = await run(['init'], d)
    expect(r.text).toContain('driftwatch reads the environment, not .env')
    expect(r.text).toContain('set -a; . ./.env; set +a')
  }, 60_000)
})
