/**
 * `harvestguard check-config FILE`: validates a configuration without starting anything and
 * prints every issue at once in compiler style (editors and CI jump to file:line:column).
 */
import { Command } from 'commander'
import { compileCatalogue, compilePolicy, ConfigError } from '../../core/index.ts'
import { loadConfigFile, type Config } from '../../config/index.ts'
import { webhookOrigin } from '../../alerts/index.ts'
import type { CliIo, CommandFactory } from '../program.ts'

/** A connection URL with any password replaced, for printing (`redis://:***@host`). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@')
}

/**
 * JSON.stringify replacer hiding passwords in `url` values and the path of webhook URLs (a
 * Slack incoming-webhook path is its key); secrets redact themselves.
 */
function redactUrls(key: string, value: unknown): unknown {
  if (key !== 'url' || typeof value !== 'string') return value
  if (/^https?:\/\//i.test(value)) {
    const origin = webhookOrigin(value)
    return new URL(value).pathname === '/' && !value.includes('?') ? origin : `${origin}/***`
  }
  return redactUrl(value)
}

/** One line summing up a valid configuration. */
export function summariseConfig(config: Config): string {
  // Compile what the guard would compile at start, so check-config catches the same errors.
  const routes = compileCatalogue(config.routes).routes.length
  const policy = compilePolicy(config.policy)
  const store =
    config.store.kind === 'redis' ? `redis ${redactUrl(config.store.redis.url)}` : 'memory'
  const journal =
    config.journal.kind === 'postgres'
      ? `postgres (schema ${config.journal.postgres?.schema ?? ''})`
      : `sqlite ${config.journal.path}`
  return (
    `${config.file}: ok: ${routes} route${routes === 1 ? '' : 's'}, store ${store}, ` +
    `journal ${journal}, listen ${config.server.listen}, secret from ${config.secret.source}` +
    (policy.settings.shadow ? ', shadow mode (decisions journaled, never enforced)' : '') +
    alertsSummary(config)
  )
}

function alertsSummary(config: Config): string {
  const { webhooks, jsonl } = config.alerts
  const to = [
    ...webhooks.map((w) => `webhook ${webhookOrigin(w.url)}`),
    ...(jsonl === undefined ? [] : [`file ${jsonl.path}`]),
  ]
  return to.length === 0
    ? ', alerts off'
    : `, alerts from ${config.alerts.minAction} to ${to.join(', ')}`
}

function run(io: CliIo, file: string, options: { json?: boolean; print?: boolean }): void {
  let config: Config
  try {
    config = loadConfigFile(file, { env: io.env })
  } catch (error) {
    if (options.json === true && error instanceof ConfigError) {
      io.out(`${JSON.stringify({ ok: false, issues: error.issues }, null, 2)}\n`)
      io.exitCode = 1
      return
    }
    throw error
  }
  for (const w of config.warnings) io.err(`${w}\n`)
  if (options.json === true) {
    io.out(`${JSON.stringify({ ok: true, warnings: config.warnings, config }, redactUrls, 2)}\n`)
    return
  }
  io.out(`${summariseConfig(config)}\n`)
  // Secrets print as [redacted] (Secret#toJSON): safe to paste into a ticket.
  if (options.print === true) io.out(`${JSON.stringify(config, redactUrls, 2)}\n`)
}

/** The `check-config` command. */
export const checkConfigCommand: CommandFactory = (io) =>
  new Command('check-config')
    .description('validate a configuration file and report every issue with file:line:column')
    .argument('<file>', 'YAML configuration file')
    .option('--print', 'also print the resolved configuration (secrets redacted)')
    .option('--json', 'machine-readable result: {ok, issues} or {ok, warnings, config}')
    .action((file: string, options: { json?: boolean; print?: boolean }) => run(io, file, options))
