/**
 * `harvestguard lab`: `run` (the scoreboard on the virtual clock), `logs` (an access log with
 * ground truth), `population` (the JSON export for test harnesses).
 */
import { writeFileSync } from 'node:fs'
import { Command } from 'commander'
import {
  LAB_LOG_FORMATS,
  SCENARIO_NAMES,
  createLabEngine,
  createPopulation,
  exportPopulation,
  formatScoreboard,
  loadLabSetup,
  runScenario,
  toSeed,
  writeScenarioLogs,
  type LabLogFormat,
} from '../../lab/index.ts'
import { HarvestGuardError } from '../../core/index.ts'
import type { CommandFactory } from '../program.ts'

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1)
    throw new HarvestGuardError(
      'HG_LAB_OPTION',
      `--${name} expects a positive integer, got "${value}"`,
    )
  return n
}

/** The `lab` command group. */
export const labCommand: CommandFactory = (io) => {
  const lab = new Command('lab').description(
    'the lab: scoreboard, synthetic access logs, population export',
  )
  lab
    .command('run')
    .description('run a scenario on the virtual clock through the engine and print the scoreboard')
    .requiredOption('--scenario <name>', `one of ${SCENARIO_NAMES.join(', ')}`)
    .option('--days <n>', "virtual days (default: the scenario's)")
    .option('--seed <seed>', 'seed', '1')
    .option('--users <n>', 'population size', '200000')
    .option('--config <file>', 'HarvestGuard config (default: examples/shop/harvestguard.yaml)')
    .option('--unguarded', 'measure the shop without the engine (baseline)')
    .option('--json <file>', 'also write the scoreboard as JSON')
    .action(
      (o: {
        scenario: string
        days?: string
        seed: string
        users: string
        config?: string
        unguarded?: boolean
        json?: string
      }) => {
        const setup =
          o.config === undefined ? loadLabSetup(undefined, io.env) : loadLabSetup(o.config, io.env)
        const days = positiveInt('days', o.days)
        const board = runScenario({
          scenario: o.scenario,
          seed: toSeed(o.seed),
          users: positiveInt('users', o.users) ?? 200_000,
          ...(days === undefined ? {} : { days }),
          catalogue: setup.catalogue,
          keyer: setup.keyer,
          protectedMask: setup.protectedMask,
          engine: o.unguarded === true ? undefined : createLabEngine(setup),
          onProgress: (t, events) => {
            if (events > 0 && new Date(t).getUTCHours() === 0)
              io.err(
                `\r${new Date(t).toISOString().slice(0, 10)} ${events.toLocaleString('en-US')} events`,
              )
          },
        })
        io.err('\r\u001b[K')
        io.out(`${formatScoreboard(board)}\n`)
        if (o.json !== undefined) writeFileSync(o.json, `${JSON.stringify(board, null, 2)}\n`)
        if (!board.ok) io.exitCode = 1
      },
    )
  lab
    .command('logs')
    .description("write a scenario's traffic (unguarded shop) as an access log, with ground truth")
    .requiredOption('--scenario <name>', `one of ${SCENARIO_NAMES.join(', ')}`)
    .option('--days <n>', "virtual days (default: the scenario's)")
    .option('--seed <seed>', 'seed', '1')
    .option('--users <n>', 'population size', '200000')
    .requiredOption('--out <file>', 'access log to write')
    .option('--truth <file>', 'ground truth JSON to write', '')
    .option('--gzip', 'gzip the access log')
    .option('--format <format>', `${LAB_LOG_FORMATS.join(' | ')}`, 'combined')
    .action(
      async (o: {
        scenario: string
        days?: string
        seed: string
        users: string
        out: string
        truth: string
        gzip?: boolean
        format: string
      }) => {
        if (!(LAB_LOG_FORMATS as readonly string[]).includes(o.format))
          throw new HarvestGuardError(
            'HG_LAB_OPTION',
            `--format expects ${LAB_LOG_FORMATS.join(' or ')}, got "${o.format}"`,
          )
        const setup = loadLabSetup(undefined, io.env)
        const days = positiveInt('days', o.days)
        const r = await writeScenarioLogs({
          scenario: o.scenario,
          seed: toSeed(o.seed),
          users: positiveInt('users', o.users) ?? 200_000,
          ...(days === undefined ? {} : { days }),
          out: o.out,
          truth: o.truth,
          format: o.format as LabLogFormat,
          gzip: o.gzip === true,
          catalogue: setup.catalogue,
          keyer: setup.keyer,
        })
        io.out(
          `${o.out}: ${r.lines.toLocaleString('en-US')} lines, ${(r.bytes / 1048576).toFixed(1)} MiB before compression, ${(r.wallMs / 1000).toFixed(1)} s (${Math.round(r.lines / (r.wallMs / 1000)).toLocaleString('en-US')} lines/s)${o.truth === '' ? '' : `; truth: ${o.truth} (${r.truth.actors.length} actors)`}\n`,
        )
      },
    )
  lab
    .command('population')
    .description(
      'export the population (accounts, partners with keys and customers, ID ranges) as JSON',
    )
    .option('--seed <seed>', 'seed', '1')
    .option('--users <n>', 'population size', '200000')
    .requiredOption('--out <file>', 'JSON file to write')
    .action((o: { seed: string; users: string; out: string }) => {
      const pop = createPopulation({
        seed: toSeed(o.seed),
        users: positiveInt('users', o.users) ?? 200_000,
      })
      writeFileSync(o.out, `${JSON.stringify(exportPopulation(pop))}\n`)
      io.out(
        `${o.out}: ${pop.users} accounts, ${pop.partners} partners, users ${pop.lastUserId - pop.users + 1}..${pop.lastUserId}, items ${pop.lastItemId - pop.items + 1}..${pop.lastItemId}\n`,
      )
    })
  return lab
}
