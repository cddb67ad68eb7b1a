import { relative, resolve, sep } from 'node:path'
import { shownPath } from '../../util/paths.ts'
import { GLOBAL, str, type Command } from '../options.ts'

export const init: Command = {
  name: 'init',
  summary: "set up driftwatch in an application's repository: config, workflows, targets, .env.example.",
  usage: ['init [--dir <repository>]'],
  about: `Writes what an application's repository needs to run driftwatch, in --dir (default the working
directory): driftwatch.config.yaml (the options every command and workflow uses), three GitHub
workflows wired to it (.github/workflows/driftwatch-nightly.yml: the live API every night;
driftwatch-pre-deploy.yml: the gate on pull requests; driftwatch-accounts.yml: every account of
driftwatch.targets.yaml, in shards), driftwatch.targets.yaml (live accounts only, by the names of
their secrets) and .env.example. It never overwrites: a file that exists is left as it is and named.`,
  options: {
    dir: { type: 'string', arg: '<dir>', help: 'the repository to set up (default the working directory)' },
    ...GLOBAL,
  },
  async run(v, _positionals, io) {
    const dir = resolve(io.cwd, str(v, 'dir') ?? '.')
    // Said as a usage problem, naming the folder, before anything is written (a path under /proc or a file is not a repository).
    const { assertWritable } = await import('../../util/preflight.ts')
    await assertWritable(dir, '--dir', io.cwd)
    const { runInit } = await import('../../commands/init.ts')
    const r = runInit(dir)
    const where = shownPath(io.cwd, dir)
    for (const f of r.written) io.stdout(`  wrote ${f}`)
    for (const f of r.leftAlone) io.stdout(`  left alone ${f} (it exists; delete it to have init write it)`)
    io.stdout(`driftwatch init in ${where}: ${r.written.length} file${r.written.length === 1 ? '' : 's'} written, ${r.leftAlone.length} left alone.`)
    if (r.repositoryRoot !== undefined) {
      const root = shownPath(io.cwd, r.repositoryRoot)
      const sub = relative(r.repositoryRoot, dir).split(sep).join('/')
      io.stderr(`driftwatch: warning: ${where} is inside the git repository at ${root}, and GitHub runs only the workflows in ${root}/.github/workflows: move the three driftwatch-*.yml there, set each job's defaults.run.working-directory to ${sub}, and prefix ${sub}/ to the paths the workflows give actions (actions/cache and upload-artifact paths, hashFiles('pacts/*.json'), setup-node's cache-dependency-path); or run init at the repository's root`)
    }
    io.stdout(
      [
        'Next:',
        '  1. add the repository secrets WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_WABA_ID (and WHATSAPP_TEST_RECIPIENT);',
        '  2. try it locally with no credentials: npx driftwatch check --target sim;',
        '  3. against Meta: set the variables .env.example lists in your environment (driftwatch reads the environment, not .env: copy it to .env, add .env to .gitignore, fill it, then `set -a; . ./.env; set +a`), then npx driftwatch check (the options are in driftwatch.config.yaml);',
        '  4. commit driftwatch.config.yaml, driftwatch.targets.yaml, .env.example and .github/workflows/driftwatch-*.yml;',
        '  5. the pre-deploy workflow runs your npm test (npm init\'s default test script exits 1: give it your tests first), whose Pact consumer tests write pacts/ (see npx driftwatch help gate); it gates them, and skips the gate while pacts/ holds none.',
      ].join('\n'),
    )
    return 0
  },
}
