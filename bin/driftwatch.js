#!/usr/bin/env node
// Entry point: registers tsx so the TypeScript sources run without a build step, then runs the
// CLI. The exit code is set, not forced, so report files and stdout finish flushing first.
import { register } from 'tsx/esm/api'

register()
const { runFromProcess } = await import('../src/cli.ts')
process.exitCode = await runFromProcess()
