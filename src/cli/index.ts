/**
 * The command line's entry points. Each command lives in its own module under src/cli/commands/,
 * dispatched from src/cli/main.ts; this file keeps the import path the bin and tests use.
 */
export { COMMANDS, COMMAND_OPTIONS, FORMATS, main, runFromProcess, type CliIO } from './main.ts'
