/**
 * The Dockerfile and the compose example run `driftwatch watch`: every command line they hold must
 * parse with the CLI as it is, and every path the image copies must exist. (No Docker daemon runs
 * in CI here, so the image itself is not built by the tests.)
 */
import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { COMMAND_OPTIONS } from '../src/cli.ts'
import { parseCommand } from '../src/cli/options.ts'
import { COMMANDS } from '../src/cli/main.ts'

/** Parses a driftwatch argument list the way main() would, without running it. */
function parses(args: string[]): void {
  const cmd = COMMANDS.find((c) => c.name === args[0])
  expect(cmd, `unknown command ${args[0]}`).toBeDefined()
  expect(() => parseCommand(cmd!, args.slice(1))).not.toThrow()
}

describe('Dockerfile', () => {
  const text = readFileSync('Dockerfile', 'utf8')
  it('copies only what exists, and its default command parses', () => {
    for (const m of text.matchAll(/^COPY (?!--from)(\S+)/gm)) expect(existsSync(m[1]!), m[1]).toBe(true)
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(text)![1]!) as string[]
    parses(cmd)
    expect(cmd[0]).toBe('watch')
    expect(text).toContain('ENTRYPOINT ["node", "bin/driftwatch.js"]')
    expect(COMMAND_OPTIONS.watch!['metrics-host']).toBeDefined()
  })
})

describe('examples/watch/compose.yaml', () => {
  const compose = parse(readFileSync('examples/watch/compose.yaml', 'utf8')) as { services: Record<string, { command: string[]; build: string }> }
  it.each(Object.keys(compose.services))('service %s runs a command line the CLI accepts', (name) => {
    const s = compose.services[name]!
    expect(existsSync(`examples/watch/${s.build}/Dockerfile`)).toBe(true)
    // ${VAR:?message} is filled in by compose; any URL stands in for it here.
    parses(s.command.map((a) => (a.startsWith('${') ? 'https://hooks.example.com/x' : a)))
  })
})
