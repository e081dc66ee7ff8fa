/**
 * The `/metrics` endpoint. Metrics reveal which principals are tracked and how the guard is
 * tuned, so the endpoint needs the admin bearer token and binds to loopback unless told
 * otherwise (scrape through a sidecar or a tunnel, or set `host` deliberately).
 */
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHash, timingSafeEqual } from 'node:crypto'
import { HarvestGuardError } from '../core/index.ts'
import type { HarvestGuardMetrics } from './metrics.ts'

/** Code when the metrics endpoint is started without a token. */
export const METRICS_TOKEN_REQUIRED = 'HG_METRICS_TOKEN_REQUIRED'

/** Options of {@link createMetricsHandler}. */
export interface MetricsHandlerOptions {
  /** The admin token; requests must send `Authorization: Bearer <token>`. */
  readonly token: string
  /** Path served. @default '/metrics' */
  readonly path?: string
}

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions extends MetricsHandlerOptions {
  /** @default '127.0.0.1' */
  readonly host?: string
  /** 0 picks a free port. @default 9464 */
  readonly port?: number
}

// compare digests, not the strings: constant time whatever the lengths
function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/** A `node:http` request handler serving the metrics behind a bearer token. */
export function createMetricsHandler(
  metrics: HarvestGuardMetrics,
  options: MetricsHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  if (options.token === '') {
    throw new HarvestGuardError(
      METRICS_TOKEN_REQUIRED,
      'metrics: an admin token is required to serve /metrics (server.adminToken)',
    )
  }
  const path = options.path ?? '/metrics'
  return (req, res) => {
    const url = (req.url ?? '/').split('?')[0]
    if (url !== path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' })
        .end('method not allowed\n')
      return
    }
    const auth = req.headers.authorization ?? ''
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth)
    if (match === null || !sameToken(match[1] ?? '', options.token)) {
      res
        .writeHead(401, {
          'www-authenticate': 'Bearer realm="harvestguard"',
          'content-type': 'text/plain',
        })
        .end('unauthorized\n')
      return
    }
    metrics.text().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType })
        res.end(req.method === 'HEAD' ? undefined : text)
      },
      (error: unknown) => {
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`metrics failed: ${String(error)}\n`)
      },
    )
  }
}

/** Starts an HTTP server for `/metrics` (loopback by default); resolves once it listens. */
export async function startMetricsServer(
  metrics: HarvestGuardMetrics,
  options: MetricsServerOptions,
): Promise<{ readonly url: string; readonly server: Server; close(): Promise<void> }> {
  const server = createServer(createMetricsHandler(metrics, options))
  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 9464, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const shown = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shown}:${port}${options.path ?? '/metrics'}`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
