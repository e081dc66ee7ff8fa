import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { constants, createGzip } from 'node:zlib'
import { createWriteStream } from 'node:fs'
import type { Keyer, Catalogue } from '../core/index.ts'
import { createPopulation } from './population.ts'
import { scenario as scenarioOf, scenarioActors, type ScenarioParams } from './scenarios.ts'
import { LAB_EPOCH_MS } from './scoreboard.ts'
import { ShopState, type ShopResponse } from './shop/handlers.ts'
import { createSimContext, DAY_MS, type ActorKind, type Profile } from './sim/common.ts'
import { runVirtual, type Exchange } from './virtual.ts'

/**
 * `harvestguard lab logs`: a scenario's traffic against the unguarded shop as an access log
 * (nginx `combined` or JSON lines), with the ground truth of who was who. The user field carries
 * what the shop resolved (account username or partner key ID), as platforms commonly log it.
 * Lines are formatted into one large Buffer and written in 4 MiB slabs: no per-line syscalls.
 */

/** Access-log formats the lab writes. */
export const LAB_LOG_FORMATS = ['combined', 'jsonl'] as const
/** One of {@link LAB_LOG_FORMATS}. */
export type LabLogFormat = (typeof LAB_LOG_FORMATS)[number]

/** Ground truth of a generated log. */
export interface LogTruth {
  readonly scenario: string
  readonly seed: number
  readonly days: number
  readonly actors: readonly {
    readonly id: string
    readonly profile: Profile
    readonly kind: ActorKind
    readonly ips: readonly string[]
    readonly accounts: readonly string[]
    readonly keys: readonly string[]
  }[]
}

/** Options of {@link writeScenarioLogs}. */
export interface WriteLogsOptions {
  readonly scenario: string
  readonly seed?: number
  readonly days?: number
  readonly users?: number
  /** Access log path. */
  readonly out: string
  /** Ground-truth JSON path ('' to skip). */
  readonly truth: string
  /** @default 'combined' */
  readonly format?: LabLogFormat
  /** Gzip the log. @default false */
  readonly gzip?: boolean
  readonly params?: ScenarioParams
  /** Only for the catalogue-free lean run's signature; unused by the log. */
  readonly catalogue: Catalogue
  readonly keyer: Keyer
}

/** What {@link writeScenarioLogs} wrote. */
export interface WriteLogsResult {
  readonly lines: number
  readonly bytes: number
  readonly wallMs: number
  readonly truth: LogTruth
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const SLAB_BYTES = 4 * 1024 * 1024

const two = (n: number) => (n < 10 ? `0${n}` : `${n}`)

/** Formats nginx `$time_local` in UTC, caching the date part per day. */
function createTimeFormatter(): (timeMs: number) => string {
  let day = -1
  let prefix = ''
  return (timeMs) => {
    const d = Math.floor(timeMs / DAY_MS)
    if (d !== day) {
      day = d
      const date = new Date(d * DAY_MS)
      prefix = `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:`
    }
    const s = Math.floor((timeMs - d * DAY_MS) / 1000)
    return `${prefix}${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)} +0000`
  }
}

/** Bytes of `JSON.stringify(value)` without building the string (exact; lab data is plain). */
export function jsonLength(value: unknown): number {
  if (value === null || value === undefined) return 4
  switch (typeof value) {
    case 'string':
      return plainAscii(value) ? value.length + 2 : Buffer.byteLength(JSON.stringify(value))
    case 'number':
      return Number.isFinite(value) ? String(value).length : 4
    case 'boolean':
      return value ? 4 : 5
    case 'object': {
      if (Array.isArray(value)) {
        let n = 2 + Math.max(0, value.length - 1)
        for (const v of value) n += jsonLength(v)
        return n
      }
      let n = 2
      let first = true
      for (const k in value) {
        const v = (value as Record<string, unknown>)[k]
        if (v === undefined) continue
        n += (first ? 0 : 1) + jsonLength(k) + 1 + jsonLength(v)
        first = false
      }
      return n
    }
    default:
      return 0
  }
}

/** Body size of a response; HTML sizes cached per path (they do not depend on the caller). */
function createSizer(): (path: string, r: ShopResponse) => number {
  const cache = new Map<string, number>()
  return (path, r) => {
    if (r.status === 403 || r.status === 429) return 0
    const json =
      r.data !== undefined && r.headers['content-type']?.startsWith('application/json') === true
    // Caller-dependent answers (logged-in profiles, partner lookups) are small: measure them.
    if (json && (r.account !== '' || r.keyId !== '')) return jsonLength(r.data)
    const hit = cache.get(path)
    if (hit !== undefined) return hit
    let n: number
    if (json) n = jsonLength(r.data)
    else {
      const body = r.body
      n = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength
    }
    if (cache.size > 500_000) cache.clear()
    cache.set(path, n)
    return n
  }
}

/** Whether a string is printable ASCII without `"` or `\`: JSON and nginx write it as is. */
function plainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false
  }
  return true
}

/** Escapes a field the way nginx does (`\xHH` for quotes, backslashes, controls, non-ASCII bytes). */
function quoteCombined(s: string): string {
  if (plainAscii(s)) return s
  let out = ''
  for (const byte of Buffer.from(s, 'utf8')) {
    out +=
      byte < 0x20 || byte > 0x7e || byte === 0x22 || byte === 0x5c
        ? `\\x${byte.toString(16).padStart(2, '0')}`
        : String.fromCharCode(byte)
  }
  return out
}

/** Runs a scenario unguarded and writes its access log and ground truth. */
export async function writeScenarioLogs(options: WriteLogsOptions): Promise<WriteLogsResult> {
  const started = performance.now()
  const sc = scenarioOf(options.scenario)
  const seed = (options.seed ?? 1) >>> 0
  const days = options.days ?? sc.days
  const format = options.format ?? 'combined'
  const population = createPopulation({ seed, users: options.users ?? 200_000 })
  const state = new ShopState(population)
  const ctx = createSimContext(population, seed, LAB_EPOCH_MS, days, 'virtual')
  const actors = scenarioActors(ctx, { ...sc.params, ...options.params })

  const gzip = options.gzip ?? false
  const fd = gzip ? -1 : openSync(options.out, 'w')
  const gz = gzip ? createGzip({ level: constants.Z_BEST_SPEED }) : undefined
  const gzDone =
    gz === undefined
      ? undefined
      : new Promise<void>((resolve, reject) => {
          const out = createWriteStream(options.out)
          out.on('finish', resolve).on('error', reject)
          gz.on('error', reject).pipe(out)
        })
  const slab = Buffer.allocUnsafe(SLAB_BYTES)
  let used = 0
  let bytes = 0
  const pendingChunks: Buffer[] = []
  const flush = () => {
    if (used === 0) return
    if (gz !== undefined) pendingChunks.push(Buffer.from(slab.subarray(0, used)))
    else writeSync(fd, slab, 0, used)
    bytes += used
    used = 0
  }
  const time = createTimeFormatter()
  const size = createSizer()
  let lines = 0
  const onExchange = (x: Exchange) => {
    const s = x.step
    const r = x.response
    let line: string
    if (format === 'combined') {
      line = `${s.ip} - ${r.user} [${time(s.atMs)}] "${s.method} ${quoteCombined(s.path)} HTTP/1.1" ${r.status} ${size(s.path, r)} "${s.referer === '' ? '-' : quoteCombined(s.referer)}" "${s.userAgent === '' ? '-' : quoteCombined(s.userAgent)}"\n`
    } else {
      line = `{"time":"${new Date(s.atMs).toISOString()}","ip":"${s.ip}","user":${JSON.stringify(r.user === '-' ? '' : r.user)},"method":"${s.method}","path":${JSON.stringify(s.path)},"status":${r.status},"bytes":${size(s.path, r)},"referer":${JSON.stringify(s.referer)},"userAgent":${JSON.stringify(s.userAgent)}}\n`
    }
    // Lines are ASCII but for rare escapes: bound the worst case at 3 bytes per char.
    if (used + line.length * 3 > SLAB_BYTES) flush()
    used += slab.write(line, used, 'utf8')
    lines++
  }
  const run = runVirtual({
    state,
    actors,
    catalogue: options.catalogue,
    keyer: options.keyer,
    protectedMask: 0,
    endMs: LAB_EPOCH_MS + days * DAY_MS,
    trackLeakage: false,
    lean: true,
    onExchange:
      gz === undefined
        ? onExchange
        : (x) => {
            onExchange(x)
            // Hand full slabs to gzip as they come so memory stays bounded.
            while (pendingChunks.length > 0) gz.write(pendingChunks.shift() as Buffer)
          },
  })
  flush()
  if (gz !== undefined) {
    for (const c of pendingChunks) gz.write(c)
    gz.end()
    await gzDone
  } else closeSync(fd)
  const truth: LogTruth = {
    scenario: sc.name,
    seed,
    days,
    actors: run.actors.map((a) => ({
      id: a.id,
      profile: a.profile,
      kind: a.kind,
      ips: [...a.ips],
      accounts: [...a.accounts],
      keys: [...a.keys],
    })),
  }
  if (options.truth !== '') writeFileSync(options.truth, `${JSON.stringify(truth, null, 1)}\n`)
  return { lines, bytes, wallMs: performance.now() - started, truth }
}
