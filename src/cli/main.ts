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

/** Every command of the CLI, in help order. */
export const COMMANDS: readonly CommandFactory[] = [
  proxyCommand,
  serveCommand,
  checkConfigCommand,
  analyzeCommand,
]

// Only when run as the program (bin/harvestguard.js or `node src/cli/main.ts`), not on import.
if (import.meta.main || process.argv[1]?.endsWith('bin/harvestguard.js')) {
  process.exitCode = await runCli(process.argv.slice(2), COMMANDS, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
  })
}
