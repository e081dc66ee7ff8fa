/** `harvestguard demo` (also `npm start`): the shop, the engine, benign people and harvesters, live. */
import { Command } from 'commander'
import { HarvestGuardError } from '../../core/index.ts'
import { runDemo, toSeed } from '../../lab/index.ts'
import type { CommandFactory } from '../program.ts'

/** The `demo` command. */
export const demoCommand: CommandFactory = (io) =>
  new Command('demo')
    .description(
      'watch HarvestGuard stop harvesters in a demo shop, live (zero config; Ctrl-C stops)',
    )
    .option('--duration <seconds>', 'stop after this many seconds')
    .option('--speedup <n>', 'virtual seconds per real second', '120')
    .option('--seed <seed>', 'seed', '1')
    .option('--users <n>', 'population size', '200000')
    .option('--journal <file>', 'SQLite journal file', './harvestguard-demo.db')
    .option('--plain', 'print frames one after another instead of redrawing the terminal')
    .action(
      async (o: {
        duration?: string
        speedup: string
        seed: string
        users: string
        journal: string
        plain?: boolean
      }) => {
        const duration = o.duration === undefined ? undefined : Number(o.duration)
        if (duration !== undefined && !(duration > 0))
          throw new HarvestGuardError(
            'HG_LAB_OPTION',
            `--duration expects seconds > 0, got "${o.duration}"`,
          )
        const controller = new AbortController()
        const stop = () => controller.abort()
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
        try {
          const summary = await runDemo({
            seed: toSeed(o.seed),
            users: Number(o.users),
            speedup: Number(o.speedup),
            ...(duration === undefined ? {} : { durationMs: duration * 1000 }),
            journalPath: o.journal,
            signal: controller.signal,
            write: io.out,
            ansi: o.plain !== true && process.stdout.isTTY === true,
          })
          io.out(
            `demo stopped: ${summary.requests} requests, ${summary.decisions} decisions (journal ${o.journal})\n`,
          )
        } finally {
          process.off('SIGINT', stop)
          process.off('SIGTERM', stop)
        }
      },
    )
