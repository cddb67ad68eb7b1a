/**
 * The system's Chromium, for the browser tests: DRIFTWATCH_CHROMIUM, else the first of chromium,
 * chromium-browser, google-chrome on PATH. Missing, it says how to install it; the tests fail, they
 * do not skip.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export function chromiumPath(): string {
  const given = process.env.DRIFTWATCH_CHROMIUM
  if (given) {
    if (!existsSync(given)) throw new Error(`DRIFTWATCH_CHROMIUM=${given} does not exist`)
    return given
  }
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim()
    } catch {
      // not this one
    }
  }
  throw new Error('no Chromium found for the browser tests: install it with `apt-get install -y chromium` (Debian), or set DRIFTWATCH_CHROMIUM to a Chromium or Chrome binary')
}
