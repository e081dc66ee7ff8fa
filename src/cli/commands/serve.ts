/**
 * `harvestguard serve --listen 127.0.0.1:8787 --access-log /var/log/nginx/access.log`: the
 * decision endpoint for nginx `auth_request`, fed by following the gateway's access log.
 */
import { Command } from 'commander'
import { LOG_FORMATS, type LogFormat, openLogSource } from '../../logs/index.ts'
import { HarvestGuardError } from '../../core/index.ts'
import {
  createDecisionServer,
  feedFromLog,
  isLoopbackHost,
  PROXY_INVALID,
} from '../../proxy/index.ts'
import type { CommandFactory } from '../program.ts'
import {
  buildInline,
  inlineOptions,
  listenAddress,
  untilSignal,
  type InlineFlags,
} from './proxy.ts'

/** The `serve` command. */
export const serveCommand: CommandFactory = (io) =>
  inlineOptions(
    new Command('serve')
      .description('decision endpoint for gateways (nginx auth_request), fed by the access log')
      .option('--listen <host:port>', 'where to listen', '127.0.0.1:8787')
      .option('--access-log <file>', 'the gateway access log to follow for exposures')
      .option('--log-format <format>', `access log format (${LOG_FORMATS.join(', ')})`, 'combined')
      .option('--public', 'allow listening on a non-loopback address'),
  ).action(
    async (
      flags: InlineFlags & {
        listen: string
        accessLog?: string
        logFormat: string
        public?: boolean
      },
    ) => {
      const listen = listenAddress(flags.listen)
      if (flags.public !== true && !isLoopbackHost(listen.host))
        throw new HarvestGuardError(
          PROXY_INVALID,
          `--listen ${flags.listen}: the decision endpoint trusts its callers; keep it on loopback or pass --public`,
        )
      const stack = await buildInline(flags, io)
      const server = createDecisionServer({ guard: stack.guard })
      const url = await server.listen(listen.host, listen.port, flags.public === true)
      io.out(`harvestguard decision endpoint on ${url}/decide\n`)
      const abort = new AbortController()
      let feeding: Promise<number> | undefined
      if (flags.accessLog !== undefined) {
        const source = openLogSource({
          files: [flags.accessLog],
          follow: true,
          format: flags.logFormat as LogFormat,
          keyer: stack.keyer,
          catalogue: stack.catalogue,
          signal: abort.signal,
        })
        feeding = feedFromLog(stack.engine, source).catch((e: unknown) => {
          if (!abort.signal.aborted) io.err(`access log: ${(e as Error).message}\n`)
          return 0
        })
        io.out(`following ${flags.accessLog}\n`)
      }
      await untilSignal()
      abort.abort()
      await feeding
      await server.close()
      await stack.close()
    },
  )
