/**
 * `harvestguard analyze [options] FILES...`: forensics over access logs with the same engine
 * as the inline guard (time from each line). Prints a terminal summary of the top actors and,
 * on request, a JSON document (docs/analyze.md), a self-contained HTML page, and journal rows.
 */
import { writeFile } from 'node:fs/promises'
import { Worker } from 'node:worker_threads'
import { Command, Option } from 'commander'
import {
  ACTIONS,
  compileCatalogue,
  compilePolicy,
  createEngine,
  HarvestGuardError,
  type Action,
  type Journal,
} from '../../core/index.ts'
import { createAlerting } from '../../alerts/index.ts'
import { defaultConfig, loadConfigFile } from '../../config/index.ts'
import { openJournal } from '../../journal/index.ts'
import { createStore } from '../../stores/index.ts'
import { createKeyer } from '../../keyer/index.ts'
import {
  JSON_PRESETS,
  LOG_FORMATS,
  LOG_ORDERS,
  openLogSource,
  openParallelLogSource,
  USER_FIELD_KINDS,
  type JsonPreset,
  type LogFormat,
  type LogOrder,
  type LogStats,
  type UserFieldKind,
  WORKER_YOUNG_GENERATION_MB,
} from '../../logs/index.ts'
import {
  analyzeEvents,
  buildJsonReport,
  formatTerminalReport,
  IDENTITY_TAP_URL,
  IdentityTable,
  renderHtmlReport,
  type IdentityWire,
  type ActorReport,
  type AnalysisSummary,
  type AnalyzeJson,
} from '../../report/index.ts'
import type { CliIo, CommandFactory } from '../program.ts'
import type { AnalyzeRunnerData, AnalyzeRunnerMessage } from './analyze-runner.ts'

/** Code raised for a bad `analyze` option. */
export const ANALYZE_OPTION = 'HG_ANALYZE_OPTION'

/** Options of {@link runAnalyze} (the command's flags). */
export interface AnalyzeOptions {
  readonly config?: string | undefined
  readonly json?: string | undefined
  readonly html?: string | undefined
  readonly journal?: boolean | undefined
  /**
   * Write the alerts the replay raises (once per actor and escalation, from `alerts.minAction`)
   * to this JSON-lines file. Never webhooks: a replay of old logs must not page anyone.
   */
  readonly alerts?: string | undefined
  readonly follow?: boolean | undefined
  /** @default 'auto' */
  readonly format?: LogFormat | undefined
  readonly jsonPreset?: JsonPreset | undefined
  /** What `$remote_user` holds. @default 'ignore' */
  readonly user?: UserFieldKind | undefined
  readonly keyPattern?: string | undefined
  /** @default true */
  readonly device?: boolean | undefined
  /** @default 'merge' */
  readonly order?: LogOrder | undefined
  /** Actors shown in the terminal. @default 10 */
  readonly top?: number | undefined
  /** Benign actors written to --json. @default 100 */
  readonly benignLimit?: number | undefined
  /** @default 'throttle' */
  readonly harvesterAt?: Action | undefined
  /** @default 'mask' */
  readonly suspectAt?: Action | undefined
  /** Progress bar: default on when stderr is a TTY. */
  readonly progress?: boolean | undefined
  readonly quiet?: boolean | undefined
  /**
   * 2: a worker thread reads and parses while this one judges (one file, or files read in
   * order); 1: everything on this thread. Several files merged by time always use 1. @default 2
   */
  readonly threads?: number | undefined
  readonly signal?: AbortSignal | undefined
  /** Environment for config secrets. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** Where progress goes. @default process.stderr */
  readonly progressOut?: ((text: string) => void) | undefined
}

/**
 * Runs {@link runAnalyze} in a worker thread whose V8 old generation is capped at `memoryMb`
 * (see analyze-runner.ts); resolves to the terminal summary. Ctrl-C (`signal`) ends the run
 * early with a report of what was read.
 */
export async function runAnalyzeWithin(
  memoryMb: number,
  files: readonly string[],
  options: Omit<AnalyzeOptions, 'progressOut'>,
  progressOut: (text: string) => void,
): Promise<string> {
  const { signal, ...rest } = options
  const data: AnalyzeRunnerData = {
    files,
    options: {
      ...rest,
      // decided here: the worker's stderr is not the terminal
      progress: rest.progress ?? (process.stderr.isTTY === true && rest.quiet !== true),
    },
  }
  // the sibling module as this one is: .ts from the sources, .js from the built package
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
  const worker = new Worker(new URL(`./analyze-runner${ext}`, import.meta.url), {
    workerData: data,
    // the young generation too: V8 sizes it from the heap limit, far larger than this needs
    resourceLimits: {
      maxOldGenerationSizeMb: memoryMb,
      maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB,
    },
  })
  // oxlint-disable-next-line unicorn/require-post-message-target-origin -- a worker, not a window
  const onAbort = (): void => worker.postMessage({ type: 'abort' })
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return await new Promise<string>((resolve, reject) => {
      let settled = false
      worker.on('message', (m: AnalyzeRunnerMessage) => {
        if (m.type === 'progress') progressOut(m.text)
        else if (m.type === 'result') {
          settled = true
          resolve(m.terminal)
        } else {
          settled = true
          reject(new HarvestGuardError(m.code ?? ANALYZE_OPTION, m.message))
        }
      })
      worker.on('error', (err: Error & { code?: string }) => {
        settled = true
        reject(
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new HarvestGuardError(
                ANALYZE_OPTION,
                `analyze needed more than its --memory budget (${memoryMb} MiB of heap); rerun with a larger --memory, or --memory 0 for no cap`,
                { cause: err },
              )
            : err,
        )
      })
      worker.on('exit', (code) => {
        if (!settled) reject(new Error(`analyze thread exited with code ${code}`))
      })
    })
  } finally {
    signal?.removeEventListener('abort', onAbort)
    await worker.terminate()
  }
}

/** Result of {@link runAnalyze}. */
export interface AnalyzeResult {
  readonly summary: AnalysisSummary
  readonly actors: readonly ActorReport[]
  readonly json: AnalyzeJson
  readonly terminal: string
}

function mb(n: number): string {
  return `${(n / 1048576).toFixed(0)} MB`
}

function progressBar(stats: LogStats, startMs: number): string {
  const elapsed = (performance.now() - startMs) / 1000
  const rate = elapsed > 0 ? stats.lines / elapsed : 0
  const frac = stats.totalBytes > 0 ? Math.min(1, stats.bytesRead / stats.totalBytes) : 0
  const width = 24
  const done = Math.round(frac * width)
  const eta = frac > 0 && frac < 1 ? (elapsed / frac) * (1 - frac) : 0
  return `\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${(frac * 100).toFixed(0)}% ${mb(stats.bytesRead)}/${mb(stats.totalBytes)} ${Math.round(rate).toLocaleString('en-US')} lines/s ETA ${Math.round(eta)}s `
}

/** Runs an analysis and writes the requested outputs. */
export async function runAnalyze(
  files: readonly string[],
  options: AnalyzeOptions,
): Promise<AnalyzeResult> {
  if (files.length === 0)
    throw new HarvestGuardError(
      ANALYZE_OPTION,
      'analyze: no log file given (use - for standard input)',
    )
  const env = options.env ?? process.env
  const config =
    options.config === undefined ? defaultConfig({ env }) : loadConfigFile(options.config, { env })
  const keyer = createKeyer(config.secret)
  const catalogue = compileCatalogue(config.routes as Parameters<typeof compileCatalogue>[0])
  let keyPattern: RegExp | undefined
  if (options.keyPattern !== undefined) {
    try {
      keyPattern = new RegExp(options.keyPattern)
    } catch (err) {
      throw new HarvestGuardError(ANALYZE_OPTION, `--key-pattern: ${(err as Error).message}`)
    }
  }
  const common = {
    files,
    signal: options.signal,
    follow: options.follow,
    format: options.format,
    jsonPreset: options.jsonPreset,
    user: options.user,
    keyPattern,
    device: options.device,
    order: options.order,
  }
  const parallel =
    (options.threads ?? 2) >= 2 &&
    options.follow !== true &&
    (files.length === 1 || options.order === 'sequential') &&
    !files.some((f) => f === '-' || /[*?[{]/.test(f))
  // with two threads the reader thread also keeps the report's per-identity totals (the
  // identity tap), so this thread only runs the engine
  const parallelSource = parallel
    ? openParallelLogSource({
        ...common,
        secret: config.secret.reveal(),
        routes: config.routes as Parameters<typeof compileCatalogue>[0],
        tap: IDENTITY_TAP_URL,
      })
    : undefined
  const source = parallelSource ?? openLogSource({ ...common, keyer, catalogue })
  const policy = compilePolicy(config.policy as Parameters<typeof compilePolicy>[0])
  // the configured store (memory, or Redis to judge a replay on the fleet's shared view)
  const created = createStore(config.store, { policy, onStoreError: config.onStoreError })
  const engine = createEngine({ policy, store: created.store })
  let journal: Journal | undefined
  try {
    if (options.journal === true) journal = await openJournal(config.journal)
  } catch (error) {
    await created.close()
    throw error
  }
  // offline: never the configured webhooks nor the live alert file, only an explicit --alerts file
  const alerting =
    options.alerts === undefined
      ? undefined
      : createAlerting(
          { ...config.alerts, jsonl: { path: options.alerts } },
          { journal, policy, webhooks: false },
        )
  const gate = alerting?.gate
  if (gate !== undefined) engine.onDecision((d) => gate.consider(d))
  const start = performance.now()
  const showProgress = options.progress ?? (process.stderr.isTTY === true && options.quiet !== true)
  const progressOut = options.progressOut ?? ((t: string) => process.stderr.write(t))
  let lastDraw = 0
  const result = await analyzeEvents({
    forEach: source.forEach,
    countEvents: parallelSource === undefined,
    engine,
    journal,
    harvesterAt: options.harvesterAt,
    suspectAt: options.suspectAt,
    signal: options.signal,
    onBatch: showProgress
      ? () => {
          const now = performance.now()
          if (now - lastDraw < 200) return
          lastDraw = now
          progressOut(progressBar(source.stats, start))
        }
      : undefined,
  }).catch(async (error: unknown) => {
    await alerting?.close()
    await created.close() // an open Redis client would keep the process alive
    throw error
  })
  if (showProgress) progressOut(`${progressBar(source.stats, start)}\n`)
  await alerting?.close()
  await created.close()
  await journal?.close()
  const s = source.stats
  const summary: AnalysisSummary = {
    files: s.files,
    formats: s.formats,
    bytes: s.bytesRead,
    lines: s.lines,
    malformed: s.malformed,
    events: s.events,
    firstTimeMs: s.firstTimeMs,
    lastTimeMs: s.lastTimeMs,
    durationMs: performance.now() - start,
    malformedSamples: s.samples,
    issues: s.issues,
    decisions: result.decisions,
  }
  if (parallelSource !== undefined)
    result.collector.useIdentities(
      IdentityTable.fromWire((parallelSource.tapResult ?? []) as IdentityWire[]),
    )
  const actors = result.collector.actors()
  const json = buildJsonReport(summary, actors, { benignLimit: options.benignLimit })
  const terminal = formatTerminalReport(summary, actors, options.top ?? 10)
  if (options.json !== undefined)
    await writeFile(options.json, `${JSON.stringify(json, null, 2)}\n`)
  if (options.html !== undefined) await writeFile(options.html, renderHtmlReport(summary, actors))
  return { summary, actors, json, terminal }
}

function positiveInt(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0)
      throw new HarvestGuardError(
        ANALYZE_OPTION,
        `${name}: expected a non-negative integer, got "${v}"`,
      )
    return n
  }
}

/** The `analyze` command. */
export const analyzeCommand: CommandFactory = (io: CliIo) =>
  new Command('analyze')
    .description('find harvesters in access logs (combined, common, JSON lines; plain or gzip)')
    .argument('<files...>', 'log files, globs, or - for standard input')
    .option('-c, --config <file>', 'configuration file (routes, policy, secret)')
    .option('--json <file>', 'write the report as JSON (schema: docs/analyze.md)')
    .option('--html <file>', 'write a self-contained HTML report')
    .option('--journal', 'record decisions in the journal like the inline guard')
    .option(
      '--alerts <file>',
      'write alerts (once per actor and escalation) to this JSON-lines file; never webhooks',
    )
    .option('-f, --follow', 'keep reading as the logs grow (tail -F); Ctrl-C reports')
    .addOption(new Option('--format <format>', 'log format').choices(LOG_FORMATS).default('auto'))
    .addOption(
      new Option('--json-preset <preset>', 'JSON-lines field preset').choices(JSON_PRESETS),
    )
    .addOption(
      new Option('--user <kind>', 'what $remote_user holds')
        .choices(USER_FIELD_KINDS)
        .default('ignore'),
    )
    .option('--key-pattern <regex>', 'with --user auto: user values that are API keys')
    .option('--no-device', 'no device principal from the user agent')
    .addOption(
      new Option('--order <order>', 'several files: merge by time or read one after another')
        .choices(LOG_ORDERS)
        .default('merge'),
    )
    .option(
      '--threads <n>',
      '2: parse in a worker thread; 1: one thread',
      positiveInt('--threads'),
      2,
    )
    .option(
      '--memory <MiB>',
      'heap budget of the judging thread (the garbage collector keeps within it); 0: no cap',
      positiveInt('--memory'),
      448,
    )
    .option('--top <n>', 'actors shown in detail', positiveInt('--top'), 10)
    .option(
      '--benign-limit <n>',
      'benign actors written to --json',
      positiveInt('--benign-limit'),
      100,
    )
    .addOption(
      new Option('--harvester-at <action>', 'weakest action that makes a harvester')
        .choices(ACTIONS)
        .default('throttle'),
    )
    .addOption(
      new Option('--suspect-at <action>', 'weakest action that makes a suspect')
        .choices(ACTIONS)
        .default('mask'),
    )
    .option('-q, --quiet', 'no progress bar, no summary')
    .action(async (files: string[], opts: Record<string, unknown>) => {
      const controller = new AbortController()
      const stop = (): void => controller.abort()
      process.once('SIGINT', stop)
      try {
        const { memory, ...rest } = opts as unknown as AnalyzeOptions & { memory: number }
        const options = { ...rest, signal: controller.signal, env: { ...io.env } }
        const terminal =
          memory > 0
            ? await runAnalyzeWithin(memory, files, options, io.err)
            : (await runAnalyze(files, { ...options, progressOut: io.err })).terminal
        if (opts['quiet'] !== true) io.out(`${terminal}\n`)
      } finally {
        process.off('SIGINT', stop)
      }
    })
