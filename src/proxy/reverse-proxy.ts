/**
 * The reverse proxy (`harvestguard proxy`): puts the guard in front of any application, whatever
 * its language. Built on undici's Pool (keep-alive, pipelining off), streaming both ways with
 * backpressure; bodies are teed for accounting up to the inspection cap and held only when a
 * principal's responses must be masked. WebSocket upgrades are judged, then tunnelled as bytes.
 */
import { HarvestGuardError } from '../core/index.ts'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, isIP, type AddressInfo, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import { Pool } from 'undici'
import {
  type BodyPlan,
  BoundedBuffer,
  type Gate,
  type Guard,
  nodeRequestFacts,
  sendAnswer,
} from '../http/index.ts'

/** Code raised for a bad upstream URL or a non-loopback listen address without `allowPublic`. */
export const PROXY_INVALID = 'HG_PROXY_INVALID'

/** Options of {@link createReverseProxy}. */
export interface ReverseProxyOptions {
  /** Upstream origin, e.g. `http://127.0.0.1:8080`. */
  readonly upstream: string
  /** The guard; without one the proxy is a plain reverse proxy (the benchmark's baseline). */
  readonly guard?: Guard
  /** Keep-alive connections to the upstream. @default 128 */
  readonly connections?: number
  /** Time to wait for upstream response headers, ms (then 504). @default 30_000 */
  readonly headersTimeoutMs?: number
  /** Time between body chunks from the upstream, ms. @default 60_000 */
  readonly bodyTimeoutMs?: number
  /** Time to connect to the upstream, ms (then 502). @default 10_000 */
  readonly connectTimeoutMs?: number
}

/** A running proxy. */
export interface ReverseProxy {
  readonly server: Server
  /** Listens; refuses non-loopback hosts unless `allowPublic`. Resolves with the bound URL. */
  listen(host: string, port: number, allowPublic?: boolean): Promise<string>
  close(): Promise<void>
}

// RFC 9110 §7.6.1 connection-specific headers, plus the legacy ones proxies must not forward.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
])

/** Whether a host is a loopback address (or `localhost`). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '')
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined
  const text = Array.isArray(value) ? value.join(',') : value
  return new Set(text.split(',').map((t) => t.trim().toLowerCase()))
}

function forwardHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const extra = connectionTokens(req.headers.connection)
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || extra?.has(name) === true) continue
    out[name] = value
  }
  const peer = req.socket.remoteAddress ?? ''
  const prior = req.headers['x-forwarded-for']
  out['x-forwarded-for'] = prior === undefined ? peer : `${String(prior)}, ${peer}`
  out['x-forwarded-proto'] ??= 'http'
  if (req.headers.host !== undefined) out['x-forwarded-host'] ??= req.headers.host
  return out
}

function responseHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const extra = connectionTokens(headers.connection)
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || extra?.has(name) === true) continue
    out[name] = value
  }
  return out
}

function problem(res: ServerResponse, status: number, title: string, detail: string): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = JSON.stringify({
    type: `https://harvestguard.dev/problems/${status === 504 ? 'upstream-timeout' : 'upstream-error'}`,
    title,
    status,
    detail,
  })
  res.writeHead(status, {
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  })
  res.end(body)
}

function upstreamFailure(error: unknown): { status: number; detail: string } {
  const code = (error as { code?: string }).code ?? ''
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
    return { status: 504, detail: 'the upstream did not answer in time' }
  if (code === 'UND_ERR_CONNECT_TIMEOUT')
    return { status: 504, detail: 'could not connect to the upstream in time' }
  return { status: 502, detail: 'the upstream could not be reached or broke the connection' }
}

/**
 * Creates the proxy (not yet listening). Throws `HG_PROXY_INVALID` on a bad upstream URL.
 * @example
 * const proxy = createReverseProxy({ upstream: 'http://127.0.0.1:8080', guard })
 * await proxy.listen('127.0.0.1', 8000)
 */
export function createReverseProxy(options: ReverseProxyOptions): ReverseProxy {
  let origin: URL
  try {
    origin = new URL(options.upstream)
  } catch (cause) {
    throw new HarvestGuardError(PROXY_INVALID, `--upstream: not a URL: ${options.upstream}`, {
      cause,
    })
  }
  if (origin.protocol !== 'http:' && origin.protocol !== 'https:')
    throw new HarvestGuardError(
      PROXY_INVALID,
      `--upstream: expected http:// or https://, got ${origin.protocol}`,
    )
  const pool = new Pool(origin.origin, {
    connections: options.connections ?? 128,
    headersTimeout: options.headersTimeoutMs ?? 30_000,
    bodyTimeout: options.bodyTimeoutMs ?? 60_000,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    keepAliveTimeout: 4_000,
  })
  const guard = options.guard
  const basePath = origin.pathname === '/' ? '' : origin.pathname.replace(/\/$/, '')

  const relay = async (
    req: IncomingMessage,
    res: ServerResponse,
    gate: Gate | undefined,
  ): Promise<void> => {
    const method = req.method ?? 'GET'
    const hasBody =
      !(method === 'GET' || method === 'HEAD') || req.headers['content-length'] !== undefined
    let upstream: Awaited<ReturnType<Pool['request']>>
    try {
      upstream = await pool.request({
        path: basePath + (req.url ?? '/'),
        method: method as 'GET',
        headers: forwardHeaders(req),
        body: hasBody ? req : null,
      })
    } catch (error) {
      const f = upstreamFailure(error)
      problem(res, f.status, f.status === 504 ? 'Gateway timeout' : 'Bad gateway', f.detail)
      gate?.finish({ status: f.status, bytes: 0, contentType: 'application/problem+json' })
      return
    }
    const headers = responseHeaders(upstream.headers)
    const contentType =
      typeof headers['content-type'] === 'string' ? headers['content-type'] : undefined
    const length =
      typeof headers['content-length'] === 'string' ? Number(headers['content-length']) : undefined
    const plan: BodyPlan | undefined =
      gate === undefined || method === 'HEAD'
        ? undefined
        : gate.plan(
            contentType,
            typeof headers['content-encoding'] === 'string'
              ? headers['content-encoding']
              : undefined,
            length,
          )
    if (plan === undefined || !plan.inspect) {
      res.writeHead(upstream.statusCode, headers)
      let bytes = 0
      // A plain loop rather than stream.pipeline: measured faster for the small bodies that
      // dominate APIs, with the same backpressure (write() -> 'drain').
      try {
        for await (const chunk of upstream.body as AsyncIterable<Buffer>) {
          if (res.destroyed) break
          bytes += chunk.length
          if (!res.write(chunk)) await drained(res)
        }
        res.end()
      } catch {
        res.destroy()
      }
      gate?.finishSoon({ status: upstream.statusCode, bytes, contentType })
      return
    }
    const buffer = new BoundedBuffer(guard!.inspectBytes)
    let bytes = 0
    let holding = plan.hold
    if (!holding) res.writeHead(upstream.statusCode, headers)
    try {
      for await (const chunk of upstream.body as AsyncIterable<Buffer>) {
        // The client went away: stop reading the upstream (leaving the loop destroys its body).
        if (res.destroyed) break
        bytes += chunk.length
        if (holding) {
          if (buffer.push(chunk)) continue
          // Too big to mask: release what was held and stream the rest as is.
          holding = false
          res.writeHead(upstream.statusCode, headers)
          for (const c of buffer.take()) if (!res.write(c)) await drained(res)
        } else buffer.push(chunk)
        if (!res.write(chunk)) await drained(res)
      }
    } catch {
      res.destroy()
      gate!.finish({ status: upstream.statusCode, bytes, contentType })
      return
    }
    if (holding) {
      const held = buffer.concat()
      const masked = gate!.maskEncoded(held, plan)
      const out = masked ?? held
      if (masked !== undefined) {
        headers['content-length'] = String(out.length)
        delete headers['etag']
      }
      res.writeHead(upstream.statusCode, headers)
      res.end(out)
      gate!.finishSoon({
        status: upstream.statusCode,
        bytes: out.length,
        contentType,
        body: held,
        plan,
        masked: masked !== undefined,
      })
      return
    }
    res.end()
    gate!.finishSoon({
      status: upstream.statusCode,
      bytes,
      contentType,
      body: buffer.overflowed ? undefined : buffer.concat(),
      plan,
    })
  }

  const server = createServer((req, res) => {
    let gate: Gate | undefined
    if (guard !== undefined) {
      gate = guard.begin(nodeRequestFacts(req))
      if (gate.answer !== undefined) {
        req.resume()
        sendAnswer(res, gate, gate.answer, req.method ?? 'GET')
        return
      }
    }
    const go = (): void => {
      relay(req, res, gate).catch(() => res.destroy())
    }
    if (gate !== undefined && gate.delayMs > 0) setTimeout(go, gate.delayMs)
    else go()
  })
  server.keepAliveTimeout = 5_000

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (guard !== undefined) {
      const gate = guard.begin(nodeRequestFacts(req))
      if (gate.answer !== undefined) {
        const a = gate.answer
        socket.end(
          `HTTP/1.1 ${a.status} ${a.status === 429 ? 'Too Many Requests' : 'Forbidden'}\r\n` +
            `content-type: ${a.headers['content-type']}\r\ncontent-length: ${Buffer.byteLength(a.body)}\r\nconnection: close\r\n\r\n${a.body}`,
        )
        gate.finish({ status: a.status, bytes: 0, contentType: a.headers['content-type'] })
        return
      }
      gate.finish({ status: 101, bytes: 0, contentType: undefined })
    }
    tunnel(req, socket, head)
  })

  const tunnel = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const port = Number(origin.port || (origin.protocol === 'https:' ? 443 : 80))
    const host = origin.hostname.replace(/^\[|\]$/g, '')
    const secure = origin.protocol === 'https:'
    const up: Socket = secure
      ? tlsConnect({ port, host, servername: isIP(host) === 0 ? host : undefined })
      : connect(port, host)
    const fail = (): void => {
      socket.destroy()
      up.destroy()
    }
    up.once('error', () => {
      if (socket.writable)
        socket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
      up.destroy()
    })
    socket.once('error', fail)
    up.once(secure ? 'secureConnect' : 'connect', () => {
      let text = `${req.method} ${basePath}${req.url} HTTP/1.1\r\n`
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i]!
        if (name.toLowerCase() === 'x-forwarded-for') continue
        text += `${name}: ${req.rawHeaders[i + 1]}\r\n`
      }
      const prior = req.headers['x-forwarded-for']
      const peer = req.socket.remoteAddress ?? ''
      text += `x-forwarded-for: ${prior === undefined ? peer : `${String(prior)}, ${peer}`}\r\n\r\n`
      up.write(text)
      if (head.length > 0) up.write(head)
      socket.pipe(up)
      up.pipe(socket)
    })
    up.once('close', () => socket.destroy())
    socket.once('close', () => up.destroy())
  }

  return {
    server,
    async listen(host, port, allowPublic = false) {
      if (!allowPublic && !isLoopbackHost(host))
        throw new HarvestGuardError(
          PROXY_INVALID,
          `--listen ${host}:${port}: not a loopback address; pass --public to listen beyond this machine`,
        )
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          resolve()
        })
      })
      const address = server.address() as AddressInfo
      const h = address.family === 'IPv6' ? `[${address.address}]` : address.address
      return `http://${h}:${address.port}`
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
      await pool.close()
    },
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}
