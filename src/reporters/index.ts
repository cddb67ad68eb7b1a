/** The registry of report formats, by the names `--format` accepts. */
import { githubReporter } from './github.ts'
import { htmlReporter } from './html.ts'
import { jsonReporter } from './json.ts'
import { junitReporter } from './junit.ts'
import { markdownReporter } from './markdown.ts'
import type { Reporter } from './reporter.ts'

/** Every reporter by format name. */
export const reporters = {
  json: jsonReporter,
  md: markdownReporter,
  junit: junitReporter,
  html: htmlReporter,
  github: githubReporter,
} as const satisfies Record<string, Reporter>

/** A format name `--format` accepts. */
export type FormatId = keyof typeof reporters

export type { Reporter, RenderContext } from './reporter.ts'
