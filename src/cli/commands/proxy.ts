/**
 * `harvestguard proxy --listen 127.0.0.1:8000 --upstream http://127.0.0.1:8080 --config FILE`:
 * the guard in front of any application. Wires config, keyer, catalogue, engine, journal and the
 * guard; also exports that wiring for `serve`.
 */
import { Command, Option } from 'commander'
import {
  type Catalogue,
  compileCatalogue,
  compilePolicy,
  createEngine,
  type Engine,
  HarvestGuardError,
  type Journal,
  type Keyer,
} from '../../core/index.ts'
import { ALERT_DELIVERY_FAILED, type Alerting, createAlerting } from '../../alerts/index.ts'
import { type Config, defaultConfig, loadConfigFile, parseListen } from '../../config/index.ts'
import {
  type AccountResolver,
  createGuard,
  type Guard,
  THROTTLE_MODES,
  type ThrottleMode,
} from '../../http/index.ts'
import { openJournal } from '../../journal/index.ts'
import { createKeyer } from '../../keyer/index.ts'
import { HarvestGuardMetrics, startMetricsServer } from '../../metrics/index.ts'
import { createStore, RedisLedgerStore } from '../../stores/index.ts'
import { createReverseProxy, isLoopbackHost, PROXY_INVALID } from '../../proxy/index.ts'
import type { CliIo, CommandFactory } from '../program.ts'

/** Inline flags shared by `proxy` and `serve`. */
export interface InlineFlags {
  readonly config?: string | undefined
  readonly discovery?: boolean | undefined
  readonly inspectBytes?: number | undefined
  readonly throttle?: ThrottleMode | undefined
  readonly challengeBits?: number | undefined
  readonly shadow?: boolean | undefined
  readonly journal?: boolean | undefined
  /** `host:port` to serve Prometheus `/metrics` on (needs `server.adminToken`). */
  readonly metrics?: string | undefined
}

/** Everything an inline feeder runs on. */
export interface InlineStack {
  readonly config: Config
  readonly engine: Engine
  readonly guard: Guard
  readonly keyer: Keyer
  readonly catalogue: Catalogue
  readonly journal: Journal | undefined
  /** The guard's Prometheus registry (engine, store and journal figures). */
  readonly metrics: HarvestGuardMetrics
  /** The configured alert sinks behind their gate (`alerts:`; none by default). */
  readonly alerting: Alerting
  /** Alerts delivered or given up (`alerts.drainTimeout`), final store sync (Redis), the journal's last flush. */
  close(): Promise<void>
}

/** Builds config -> keyer, catalogue, engine, journal -> guard. */
export async function buildInline(flags: InlineFlags, io: CliIo): Promise<InlineStack> {
  const config =
    flags.config === undefined
      ? defaultConfig({ env: io.env })
      : loadConfigFile(flags.config, { env: io.env })
  for (const w of config.warnings) io.err(`warning: ${w}\n`)
  const keyer = createKeyer(config.secret)
  const catalogue = compileCatalogue(config.routes as Parameters<typeof compileCatalogue>[0])
  const policy = compilePolicy(config.policy as Parameters<typeof compilePolicy>[0])
  // `store: {kind: redis}` is a config change only: createStore picks the backend.
  let metrics: HarvestGuardMetrics | undefined
  const created = createStore(config.store, {
    policy,
    onStoreError: config.onStoreError,
    onError: (e) => {
      io.err(`store: ${e.message}\n`)
      metrics?.storeError('push')
    },
    onSync: (round) => metrics?.sync(round.principals, round.durationMs),
  })
  const store = created.store
  const engine = createEngine({ policy, store })
  metrics = new HarvestGuardMetrics({
    defaultMetrics: false,
    sources: {
      events: () => engine.stats.events,
      trackedPrincipals: () => store.size,
      evictions: () => store.evictions,
      ...(store instanceof RedisLedgerStore
        ? {
            queuedDeltas: () => store.stats.dirty,
            syncAgeMs: () =>
              store.stats.lastSyncMs === 0 ? undefined : Date.now() - store.stats.lastSyncMs,
          }
        : {}),
    },
  })
  const m = metrics
  engine.onDecision((d) => m.decision(d.action))
  let journal: Journal | undefined
  if (flags.journal !== false) {
    try {
      journal = await openJournal(config.journal, {
        onError: (e) => {
          io.err(`journal: ${e.message}\n`)
          m.journalError()
        },
      })
    } catch (error) {
      await created.close() // an open Redis client would keep the process alive
      throw error
    }
    const j = journal
    engine.onDecision((d) => j.recordDecision(d))
  }
  // `alerts:` in the config: one alert per actor and escalation, once per fleet with Redis
  const alerting = createAlerting(config.alerts, {
    journal,
    policy,
    fleet:
      created.client === undefined
        ? undefined
        : { client: created.client, keyPrefix: config.store.redis.keyPrefix },
    onError: (e) => {
      io.err(`alerts: ${e.message}\n`)
      if (e.code === ALERT_DELIVERY_FAILED) m.alertDeliveryFailure()
    },
  })
  const gate = alerting.gate
  if (gate !== undefined) {
    engine.onDecision((d) => {
      const alert = gate.consider(d)
      if (alert !== undefined) m.alert(alert.action)
    })
    io.out(`${alerting.describe}\n`)
  }
  let metricsServer: { readonly url: string; close(): Promise<void> } | undefined
  if (flags.metrics !== undefined) {
    const at = listenAddress(flags.metrics, '--metrics')
    try {
      metricsServer = await startMetricsServer(m, {
        token: config.server.adminToken?.reveal() ?? '',
        host: at.host,
        port: at.port,
      })
    } catch (error) {
      await alerting.close(0)
      await created.close()
      await journal?.close()
      throw error
    }
    io.out(`metrics on ${metricsServer.url} (Authorization: Bearer server.adminToken)\n`)
  }
  const http = config.http
  const guard = createGuard({
    engine,
    keyer,
    catalogue,
    trustedProxies: http.trustedProxies,
    forwardedHeader: http.forwardedHeader,
    ...(http.account === undefined ? {} : { account: http.account as AccountResolver }),
    apiKey: http.apiKey,
    sessionCookies: http.sessionCookies,
    ...(http.tlsFingerprintHeader === undefined
      ? {}
      : { tlsFingerprintHeader: http.tlsFingerprintHeader }),
    userAgentCacheSize: http.userAgentCacheSize,
    discovery: flags.discovery === true,
    inspectBytes: flags.inspectBytes ?? 1_048_576,
    throttle: { mode: flags.throttle ?? 'reject' },
    // A subkey of the config secret: passes verify across a fleet sharing the config.
    challenge: {
      secret: `challenge:${config.secret.reveal()}`,
      difficultyBits: flags.challengeBits ?? 16,
    },
    shadow: flags.shadow === true,
  })
  return {
    config,
    engine,
    guard,
    keyer,
    catalogue,
    journal,
    metrics,
    alerting,
    close: async () => {
      await metricsServer?.close()
      // before the store: a fleet's claims use its Redis client
      const lost = await alerting.close()
      if (lost > 0) io.err(`alerts: ${lost} alert(s) not delivered by shutdown\n`)
      await created.close()
      await journal?.close()
    },
  }
}

const positiveInt =
  (what: string) =>
  (text: string): number => {
    const n = Number(text)
    if (!Number.isInteger(n) || n <= 0)
      throw new HarvestGuardError(
        PROXY_INVALID,
        `${what}: expected a positive integer, got ${JSON.stringify(text)}`,
      )
    return n
  }

/** Adds the inline flags to a command. */
export function inlineOptions(command: Command): Command {
  return command
    .option('--config <file>', 'harvestguard.yaml (routes, policy, http, journal)')
    .option('--discovery', 'scan bodies for phone numbers, e-mail addresses and national IDs')
    .option(
      '--inspect-bytes <n>',
      'largest body inspected or masked',
      positiveInt('--inspect-bytes'),
    )
    .addOption(
      new Option('--throttle <mode>', 'answer 429 at once, or delay').choices(THROTTLE_MODES),
    )
    .option(
      '--challenge-bits <n>',
      'proof-of-work difficulty (leading zero bits)',
      positiveInt('--challenge-bits'),
    )
    .option('--shadow', 'judge and journal, enforce nothing')
    .option('--no-journal', 'do not record decisions')
    .option('--metrics <host:port>', 'serve Prometheus /metrics here (bearer server.adminToken)')
}

/** Parses `host:port` for --listen, naming the flag on error. */
export function listenAddress(text: string, flag = '--listen'): { host: string; port: number } {
  const l = parseListen(text)
  if (l === undefined)
    throw new HarvestGuardError(
      PROXY_INVALID,
      `${flag}: expected host:port like 127.0.0.1:8000, got ${JSON.stringify(text)}`,
    )
  return l
}

/** Resolves once SIGINT/SIGTERM arrives. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done)
      process.off('SIGTERM', done)
      resolve()
    }
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
  })
}

/** The `proxy` command. */
export const proxyCommand: CommandFactory = (io) =>
  inlineOptions(
    new Command('proxy')
      .description('reverse proxy with HarvestGuard in front of an upstream application')
      .requiredOption('--upstream <url>', 'the application, e.g. http://127.0.0.1:8080')
      .option('--listen <host:port>', 'where to listen', '127.0.0.1:8000')
      .option('--public', 'allow listening on a non-loopback address'),
  ).action(async (flags: InlineFlags & { upstream: string; listen: string; public?: boolean }) => {
    const listen = listenAddress(flags.listen)
    // Refuse a public address before opening the journal or anything else.
    if (flags.public !== true && !isLoopbackHost(listen.host))
      throw new HarvestGuardError(
        PROXY_INVALID,
        `--listen ${flags.listen}: not a loopback address; pass --public to listen beyond this machine`,
      )
    const stack = await buildInline(flags, io)
    const proxy = createReverseProxy({ upstream: flags.upstream, guard: stack.guard })
    const url = await proxy.listen(listen.host, listen.port, flags.public === true)
    io.out(
      `harvestguard proxy listening on ${url} -> ${flags.upstream}${flags.shadow === true ? ' (shadow mode)' : ''}\n`,
    )
    await untilSignal()
    await proxy.close()
    await stack.close()
  })
