/**
 * The decision endpoint (`harvestguard serve`) for gateways that ask before forwarding, such as
 * nginx `auth_request`: the gateway sends each request's method, URI, client address and headers
 * in a subrequest; the endpoint answers 204 (allow), 403 (block), 429 (throttle) or 401
 * (challenge) with the reasons in headers. It never sees response bodies: exposures come from
 * the gateway's access log, tailed and fed to the same engine.
 */
import { type Event, HarvestGuardError } from '../core/index.ts'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Guard, type GuardEngine, headerValue, rawHeaderNames } from '../http/index.ts'
import { PROXY_INVALID, isLoopbackHost } from './reverse-proxy.ts'

/** Options of {@link createDecisionServer}. */
export interface DecisionServerOptions {
  readonly guard: Guard
  /** Path answering subrequests. @default '/decide' */
  readonly path?: string
  /**
   * Path answering with the full response a client should get (problem JSON, challenge page),
   * for the gateway's error pages. @default '/answer'
   */
  readonly answerPath?: string
  /** Header carrying the original URI. @default 'x-original-uri' */
  readonly uriHeader?: string
  /** Header carrying the original method. @default 'x-original-method' */
  readonly methodHeader?: string
  /** Header carrying the client address as the gateway saw it. @default 'x-real-ip' */
  readonly addressHeader?: string
}

/** A running decision endpoint. */
export interface DecisionServer {
  readonly server: Server
  /** Counts of answers by status since start. */
  readonly answers: Readonly<Record<string, number>>
  listen(host: string, port: number, allowPublic?: boolean): Promise<string>
  close(): Promise<void>
}

/**
 * Creates the endpoint. The gateway is the endpoint's only client and is trusted to report the
 * client address, so the endpoint must listen on loopback (or a private interface with
 * `allowPublic`): anyone who can reach it could ask about any address.
 */
export function createDecisionServer(options: DecisionServerOptions): DecisionServer {
  const guard = options.guard
  const path = options.path ?? '/decide'
  const uriHeader = options.uriHeader ?? 'x-original-uri'
  const methodHeader = options.methodHeader ?? 'x-original-method'
  const addressHeader = options.addressHeader ?? 'x-real-ip'
  const answerPath = options.answerPath ?? '/answer'
  const answers: Record<string, number> = {}

  const server = createServer((req, res) => {
    const url = req.url ?? '/'
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
      return
    }
    const verify = guard.challenge !== undefined && url.startsWith(guard.challenge.verifyPath)
    const full = verify || url.startsWith(answerPath)
    if (!full && !url.startsWith(path)) {
      res.writeHead(404).end()
      return
    }
    const gate = guard.begin({
      method: verify ? (req.method ?? 'GET') : (headerValue(req.headers, methodHeader) ?? 'GET'),
      url: verify ? url : (headerValue(req.headers, uriHeader) ?? '/'),
      remoteAddress: headerValue(req.headers, addressHeader) ?? req.socket.remoteAddress ?? '',
      headers: req.headers,
      rawHeaderNames: rawHeaderNames(req.rawHeaders),
    })
    if (full) {
      // The gateway's error page (or the challenge's verify link): the same answer the proxy
      // would give, so clients see one behaviour whichever way HarvestGuard is deployed.
      const a = gate.answer
      if (a === undefined) res.writeHead(204).end()
      else {
        const body = Buffer.from(a.body)
        res.writeHead(a.status, { ...a.headers, 'content-length': body.length }).end(body)
      }
      return
    }
    const answer = gate.answer
    const status =
      answer === undefined
        ? 204
        : gate.action === 'throttle'
          ? 429
          : gate.action === 'challenge'
            ? 401
            : answer.status === 303
              ? 204
              : 403
    answers[status] = (answers[status] ?? 0) + 1
    const reasons =
      gate.decision?.readings.filter((r) => r.contribution > 0).map((r) => r.signal) ?? []
    const headers: Record<string, string> = {
      'x-harvestguard-action': gate.action,
      'cache-control': 'no-store',
    }
    if (reasons.length > 0) headers['x-harvestguard-reasons'] = reasons.join(',')
    if (answer?.headers['retry-after'] !== undefined)
      headers['retry-after'] = answer.headers['retry-after']
    if (status === 204) {
      res.writeHead(204, headers).end()
      return
    }
    const body = answer?.body ?? ''
    res
      .writeHead(status, {
        ...headers,
        'content-type': answer?.headers['content-type'] ?? 'text/plain',
        'content-length': Buffer.byteLength(body),
      })
      .end(body)
  })

  return {
    server,
    answers,
    async listen(host, port, allowPublic = false) {
      if (!allowPublic && !isLoopbackHost(host))
        throw new HarvestGuardError(
          PROXY_INVALID,
          `--listen ${host}:${port}: the decision endpoint trusts its callers; keep it on loopback or pass --public`,
        )
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          resolve()
        })
      })
      const a = server.address() as AddressInfo
      return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * Feeds an engine from an access-log event stream (the logs part's followed source) until the
 * stream ends or fails; returns how many events were fed.
 */
export async function feedFromLog(
  engine: Pick<GuardEngine, 'observe'>,
  events: AsyncIterable<Event>,
): Promise<number> {
  let n = 0
  for await (const event of events) {
    engine.observe(event)
    n++
  }
  return n
}
