/** `harvestguard shop`: the lab's demo shop on loopback (route contract: docs/lab.md). */
import { Command } from 'commander'
import { ShopState, createPopulation, startShopServer, toSeed } from '../../lab/index.ts'
import type { CommandFactory } from '../program.ts'

/** The `shop` command. */
export const shopCommand: CommandFactory = (io) =>
  new Command('shop')
    .description('run the demo shop (synthetic population) on 127.0.0.1')
    .option('--port <port>', 'TCP port (0 picks a free one)', '8080')
    .option('--seed <seed>', 'population seed', '1')
    .option('--users <n>', 'population size', '200000')
    .action(async (options: { port: string; seed: string; users: string }) => {
      const population = createPopulation({
        seed: toSeed(options.seed),
        users: Number(options.users),
      })
      const shop = await startShopServer(new ShopState(population), { port: Number(options.port) })
      io.out(
        `shop: ${shop.url} (seed ${population.seed}, ${population.users} users, ${population.items} items)\n`,
      )
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop)
          process.off('SIGTERM', stop)
          void shop.close().then(resolve)
        }
        process.on('SIGINT', stop)
        process.on('SIGTERM', stop)
      })
    })
