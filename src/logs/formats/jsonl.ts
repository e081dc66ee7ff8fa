/**
 * JSON-lines access logs with a configurable field mapping. Each line is one JSON object; a
 * {@link JsonFieldMapping} names, as dotted paths, where the address, time, request and the rest
 * live. Presets cover nginx `log_format ... escape=json`, a load-balancer log in the AWS ALB
 * field names, and Google Cloud's HTTP(S) load balancer (`httpRequest.*`).
 *
 * JSON has to be decoded as a whole, so this path costs more than `combined`; the fields kept are
 * copied into a scratch buffer so the event builder sees the same byte ranges as for text formats.
 */
import { parseClfTime } from './clf.ts'
import type { LineParser, ParsedLine } from '../parsed-line.ts'

/**
 * Where each field of an access-log record lives in a JSON line, as dotted paths
 * (`httpRequest.remoteIp`). `request` is a whole request line (`GET /x HTTP/1.1`), used when
 * `method`/`path` are absent. `path` may hold a full URL; scheme and host are dropped.
 */
export interface JsonFieldMapping {
  readonly ip: string
  /** ISO 8601, `dd/Mon/yyyy:HH:MM:SS +zzzz`, or epoch seconds / milliseconds (number or string). */
  readonly time: string
  readonly method?: string
  readonly path?: string
  readonly request?: string
  readonly status: string
  readonly bytes?: string
  readonly referer?: string
  readonly userAgent?: string
  /** Resolved account or API-key ID, like combined's `$remote_user`. */
  readonly user?: string
}

/** Names of the built-in {@link JsonFieldMapping} presets. */
export const JSON_PRESETS = ['nginx', 'alb', 'gcp', 'lab'] as const
/** One of {@link JSON_PRESETS}. */
export type JsonPreset = (typeof JSON_PRESETS)[number]

/** The built-in mappings. */
export const JSON_PRESET_MAPPINGS: Readonly<Record<JsonPreset, JsonFieldMapping>> = Object.freeze({
  // log_format json escape=json '{"time_local":"$time_local","remote_addr":"$remote_addr",...}'
  nginx: {
    ip: 'remote_addr',
    time: 'time_local',
    request: 'request',
    status: 'status',
    bytes: 'body_bytes_sent',
    referer: 'http_referer',
    userAgent: 'http_user_agent',
    user: 'remote_user',
  },
  // AWS ALB field names, as shipped to JSON by Firehose/Athena pipelines
  alb: {
    ip: 'client_ip',
    time: 'time',
    method: 'request_verb',
    path: 'request_url',
    status: 'elb_status_code',
    bytes: 'sent_bytes',
    userAgent: 'user_agent',
    referer: 'referer',
  },
  // Cloud Logging entry of a Google Cloud HTTP(S) load balancer
  gcp: {
    ip: 'httpRequest.remoteIp',
    time: 'timestamp',
    method: 'httpRequest.requestMethod',
    path: 'httpRequest.requestUrl',
    status: 'httpRequest.status',
    bytes: 'httpRequest.responseSize',
    referer: 'httpRequest.referer',
    userAgent: 'httpRequest.userAgent',
  },
  // flat names (the lab's `--format jsonl`, many app loggers)
  lab: {
    ip: 'ip',
    time: 'time',
    method: 'method',
    path: 'path',
    status: 'status',
    bytes: 'bytes',
    referer: 'referer',
    userAgent: 'userAgent',
    user: 'user',
  },
})

type Getter = (o: unknown) => unknown

function getter(path: string | undefined): Getter | undefined {
  if (path === undefined || path === '') return undefined
  const parts = path.split('.')
  if (parts.length === 1) {
    const k = parts[0] as string
    return (o) =>
      o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined
  }
  return (o) => {
    let v: unknown = o
    for (const k of parts) {
      if (v === null || typeof v !== 'object') return undefined
      v = (v as Record<string, unknown>)[k]
    }
    return v
  }
}

const ISO = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$/

/** Milliseconds since the epoch from the forms logs use for time; NaN when none fits. */
export function parseLogTime(v: unknown): number {
  if (typeof v === 'number') return v < 1e11 ? Math.round(v * 1000) : Math.round(v)
  if (typeof v !== 'string' || v.length === 0) return NaN
  const c = v.charCodeAt(0)
  if (c >= 48 && c <= 57 && /^\d+(\.\d+)?$/.test(v)) return parseLogTime(Number(v))
  if (ISO.test(v)) return Date.parse(v)
  if (v.length >= 20 && v.charCodeAt(2) === 47) {
    const b = Buffer.from(v, 'latin1')
    return parseClfTime(b, 0, b.length)
  }
  return NaN
}

/** Creates a line parser for JSON lines with the given mapping. */
export function createJsonLineParser(mapping: JsonFieldMapping): LineParser {
  const ip = getter(mapping.ip) as Getter
  const time = getter(mapping.time) as Getter
  const method = getter(mapping.method)
  const path = getter(mapping.path)
  const request = getter(mapping.request)
  const status = getter(mapping.status) as Getter
  const bytes = getter(mapping.bytes)
  const referer = getter(mapping.referer)
  const userAgent = getter(mapping.userAgent)
  const user = getter(mapping.user)
  let scratch = Buffer.allocUnsafe(4096)
  const text = new TextDecoder('utf-8', { fatal: false })

  return (buf, start, end, out: ParsedLine) => {
    if (buf[start] !== 123) return false // '{'
    let o: unknown
    try {
      o = JSON.parse(text.decode(buf.subarray(start, end)))
    } catch {
      return false
    }
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return false
    const ipV = ip(o)
    const t = parseLogTime(time(o))
    const st = Number(status(o))
    if (typeof ipV !== 'string' || ipV === '' || Number.isNaN(t)) return false
    if (!Number.isInteger(st) || st < 0 || st > 999) return false
    let m = method?.(o)
    let p = path?.(o)
    if ((typeof m !== 'string' || typeof p !== 'string') && request !== undefined) {
      const r = request(o)
      if (typeof r === 'string') {
        const s1 = r.indexOf(' ')
        const s2 = r.lastIndexOf(' ')
        if (s1 > 0) {
          m = r.slice(0, s1)
          p = s2 > s1 ? r.slice(s1 + 1, s2) : r.slice(s1 + 1)
        } else {
          m = '-'
          p = ''
        }
      }
    }
    if (typeof m !== 'string' || typeof p !== 'string') return false
    const target = stripOrigin(p)
    const ua = userAgent?.(o)
    const ref = referer?.(o)
    const u = user?.(o)
    const b = Number(bytes?.(o) ?? 0)
    const uaS = typeof ua === 'string' && ua !== '-' ? ua : ''
    const uS = typeof u === 'string' || typeof u === 'number' ? String(u) : ''
    const need = (ipV.length + m.length + target.length + uaS.length + uS.length) * 3
    if (scratch.length < need) scratch = Buffer.allocUnsafe(need * 2)
    out.reset(scratch)
    let i = 0
    out.ipStart = i
    i += scratch.write(ipV, i, 'utf8')
    out.ipEnd = i
    out.methodStart = i
    i += scratch.write(m, i, 'utf8')
    out.methodEnd = i
    out.targetStart = i
    i += scratch.write(target, i, 'utf8')
    out.targetEnd = i
    out.uaStart = i
    i += scratch.write(uaS, i, 'utf8')
    out.uaEnd = i
    out.userStart = i
    i += scratch.write(uS, i, 'utf8')
    out.userEnd = i
    out.hasUserAgent = userAgent !== undefined
    out.timeMs = t
    out.status = st
    out.bytes = Number.isFinite(b) && b > 0 ? Math.floor(b) : 0
    out.referer = typeof ref === 'string' && ref !== '' && ref !== '-'
    return true
  }
}

function stripOrigin(p: string): string {
  if (p.charCodeAt(0) === 47) return p
  const scheme = p.indexOf('://')
  if (scheme < 0) return p
  const slash = p.indexOf('/', scheme + 3)
  return slash < 0 ? '/' : p.slice(slash)
}
