/**
 * `harvestguard` command line. Each command lives in its own file under ./commands/ and exports
 * a CommandFactory; register it with ONE line in COMMANDS below (and its import).
 */
import type { CommandFactory } from './program.ts'
import { runCli } from './program.ts'
import { proxyCommand } from './commands/proxy.ts'
import { serveCommand } from './commands/serve.ts'
import { checkConfigCommand } from './commands/check-config.ts'
import { analyzeCommand } from './commands/analyze.ts'
import { shopCommand } from './commands/shop.ts'
import { labCommand } from './commands/lab.ts'
import { demoCommand } from './commands/demo.ts'

/** Every command of the CLI, in help order. */
export const COMMANDS: readonly CommandFactory[] = [
  proxyCommand,
  serveCommand,
  checkConfigCommand,
  analyzeCommand,
  shopCommand,
  labCommand,
  demoCommand,
]

/** Runs the CLI on `argv` (without node and script) with the process's streams; resolves to the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runCli([...argv], COMMANDS, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
  })
}

// Only when run as the program (`node src/cli/main.ts`); bin/harvestguard.js calls main().
if (import.meta.main) process.exitCode = await main(process.argv.slice(2))
