/**
 * The CLI's skeleton: a commander program assembled from one factory per command
 * (src/cli/commands/*.ts), run with injectable output so tests drive it in-process. Exit codes:
 * 0 success, 1 a HarvestGuard error (bad config, unreachable service), 2 a usage error.
 */
import { Command, CommanderError } from 'commander'
import { HarvestGuardError } from '../core/index.ts'

/** Where a command writes and what it reads from the environment. */
export interface CliIo {
  /** Standard output (results). */
  readonly out: (text: string) => void
  /** Standard error (diagnostics, warnings). */
  readonly err: (text: string) => void
  readonly env: Readonly<Record<string, string | undefined>>
  /** Exit code the command wants once it returns (e.g. 1 when a check failed). */
  exitCode: number
}

/** Builds one command. Add a file to src/cli/commands/ exporting one of these. */
export type CommandFactory = (io: CliIo) => Command

/** Exit codes of the CLI. */
export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2 } as const)

/** The program with every command registered. */
export function createProgram(commands: readonly CommandFactory[], io: CliIo): Command {
  const program = new Command('harvestguard')
    .description('Stops large-scale harvesting of personal data by exposure accounting.')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
  for (const factory of commands) {
    const command = factory(io)
    command.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err })
    program.addCommand(command)
  }
  return program
}

/**
 * Runs the CLI on `args` (without node and script) and resolves to the exit code. HarvestGuard
 * errors print their message (compiler-style issues for config) without a stack trace.
 */
export async function runCli(
  args: readonly string[],
  commands: readonly CommandFactory[],
  io: Omit<CliIo, 'exitCode'>,
): Promise<number> {
  const state: CliIo = { ...io, exitCode: EXIT.ok }
  const program = createProgram(commands, state)
  try {
    await program.parseAsync([...args], { from: 'user' })
    return state.exitCode
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version exit 0 through the same path as usage errors
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage
    }
    if (error instanceof HarvestGuardError) {
      io.err(`${error.message}\n`)
      return EXIT.failed
    }
    io.err(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    return EXIT.failed
  }
}
