import { Agent, request } from 'node:http'
import { assertLoopback } from './loopback.ts'
import type { Outcome, SimActor, Step } from './sim/common.ts'

/**
 * Real time over HTTP: the same simulator scripts, each step sent as a real request to a base
 * URL on loopback, from the actor's own source address (binding to 127.x.y.z works on Linux:
 * the whole 127.0.0.0/8 is the loopback interface). Virtual time is compressed by `speedup`:
 * with 60, one virtual minute passes in one second. Every address is checked against the
 * loopback-only rule before any socket opens.
 */

/**
 * Headers of each client stack, in the order it sends them (what the guard's device fingerprint
 * reads: stable header names in order, Accept-Encoding, User-Agent, Accept-Language). A script
 * that borrows a browser's User-Agent keeps its library's header order and encodings, as real
 * ones do; `ua` and `lang` are the step's values, left out when empty.
 */
const STACK_HEADERS: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  browser: [
    ['user-agent', 'ua'],
    ['accept', '*/*'],
    ['accept-encoding', 'gzip, deflate, br, zstd'],
    ['accept-language', 'lang'],
  ],
  'headless-chrome': [
    ['user-agent', 'ua'],
    ['accept', '*/*'],
    ['accept-encoding', 'gzip, deflate, br'],
    ['accept-language', 'lang'],
  ],
  'python-aiohttp': [
    ['user-agent', 'ua'],
    ['accept', '*/*'],
    ['accept-encoding', 'gzip, deflate'],
    ['accept-language', 'lang'],
  ],
  'python-requests': [
    ['user-agent', 'ua'],
    ['accept-encoding', 'gzip, deflate'],
    ['accept', '*/*'],
    ['accept-language', 'lang'],
  ],
  'go-http': [
    ['user-agent', 'ua'],
    ['accept-language', 'lang'],
    ['accept-encoding', 'gzip'],
  ],
  okhttp: [
    ['accept-encoding', 'gzip'],
    ['user-agent', 'ua'],
    ['accept-language', 'lang'],
  ],
  'java-httpclient': [
    ['user-agent', 'ua'],
    ['accept-language', 'lang'],
  ],
  googlebot: [
    ['accept', '*/*'],
    ['user-agent', 'ua'],
    ['accept-encoding', 'gzip, deflate, br'],
    ['accept-language', 'lang'],
  ],
}

/** The request headers of a step, in its client stack's order. */
export function stackHeaders(s: Step, origin: string, host: string): Record<string, string> {
  const headers: Record<string, string> = { host }
  for (const [name, value] of STACK_HEADERS[s.stack] ?? STACK_HEADERS['browser']!) {
    const v = value === 'ua' ? s.userAgent : value === 'lang' ? s.acceptLanguage : value
    if (v !== '') headers[name] = v
  }
  if (s.referer !== '') headers['referer'] = `${origin}${s.referer}`
  if (s.sid !== '') headers['cookie'] = `sid=${s.sid}`
  if (s.apiKey !== '') headers['authorization'] = `Bearer ${s.apiKey}`
  if (s.body !== undefined) headers['content-type'] = 'application/json'
  return headers
}

/** Options of {@link runRealtime}. */
export interface RealtimeOptions {
  /** Base URL of the shop or of a guard in front of it (loopback only). */
  readonly baseUrl: string
  readonly actors: readonly SimActor[]
  /** Virtual time of the scripts' start (the SimContext's startMs). */
  readonly startMs: number
  /** Virtual milliseconds per real millisecond. @default 60 */
  readonly speedup?: number
  /** Bind each actor's source address (127.x.y.z). @default true */
  readonly bindSource?: boolean
  /** Stops the run when aborted. */
  readonly signal?: AbortSignal
  /** Called before each request is sent (the demo maps source addresses to actors). */
  readonly onSend?: (actor: SimActor, step: Step) => void
  /** Called after each exchange. */
  readonly onExchange?: (actor: SimActor, step: Step, status: number) => void
  /** Request timeout. @default 10000 */
  readonly timeoutMs?: number
}

/** Counters of a real-time run. */
export interface RealtimeResult {
  readonly requests: number
  readonly errors: number
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve()
    const timer = setTimeout(done, Math.max(0, ms))
    function done() {
      signal?.removeEventListener('abort', done)
      clearTimeout(timer)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** Runs actors in compressed real time over loopback HTTP until aborted or all are done. */
export async function runRealtime(options: RealtimeOptions): Promise<RealtimeResult> {
  assertLoopback(options.baseUrl)
  const base = new URL(options.baseUrl)
  const speedup = options.speedup ?? 60
  const bind = options.bindSource ?? true
  const timeoutMs = options.timeoutMs ?? 10_000
  const wallStart = performance.now()
  const agents = new Map<string, Agent>()
  const agentFor = (ip: string): Agent => {
    let agent = agents.get(ip)
    if (agent === undefined) {
      assertLoopback(ip)
      agent = new Agent({ keepAlive: true, maxSockets: 4, ...(bind ? { localAddress: ip } : {}) })
      agents.set(ip, agent)
    }
    return agent
  }
  let requests = 0
  let errors = 0
  const send = (s: Step): Promise<Outcome> =>
    new Promise((resolve) => {
      const headers = stackHeaders(s, base.origin, base.host)
      const req = request(
        {
          host: base.hostname,
          port: base.port,
          method: s.method,
          path: s.path,
          headers,
          agent: agentFor(s.ip),
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const status = res.statusCode ?? 0
            const text = Buffer.concat(chunks).toString('utf8')
            let data: unknown
            if ((res.headers['content-type'] ?? '').includes('json')) {
              try {
                data = JSON.parse(text)
              } catch {
                data = undefined
              }
            }
            const cookie = res.headers['set-cookie']?.[0] ?? ''
            const sid = cookie.startsWith('sid=') ? cookie.slice(4, cookie.indexOf(';')) : ''
            // A guard answers 403 (block, challenge) or 429 (throttle) with no data.
            resolve({ status, refused: status === 403 || status === 429, data, sid })
          })
          res.on('error', () => resolve({ status: 0, refused: false, data: undefined, sid: '' }))
        },
      )
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', () => {
        errors++
        resolve({ status: 0, refused: false, data: undefined, sid: '' })
      })
      if (s.body !== undefined) req.end(s.body)
      else req.end()
    })
  const aborted = (): boolean => options.signal?.aborted === true
  const wallAt = (virtualMs: number) => wallStart + (virtualMs - options.startMs) / speedup
  await Promise.all(
    options.actors.map(async (actor) => {
      let next = actor.script.next()
      while (!next.done && !aborted()) {
        const s = next.value
        await delay(wallAt(s.atMs) - performance.now(), options.signal)
        if (aborted()) break
        options.onSend?.(actor, s)
        const outcome = await send(s)
        requests++
        options.onExchange?.(actor, s, outcome.status)
        next = actor.script.next(outcome)
      }
    }),
  )
  for (const agent of agents.values()) agent.destroy()
  return { requests, errors }
}
