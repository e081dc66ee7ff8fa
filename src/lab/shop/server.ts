import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  handleShopRequest,
  type ShopRequest,
  type ShopResponse,
  type ShopState,
} from './handlers.ts'

/** What the shop tells its hook about one exchange (the demo feeds the engine from it). */
export interface ShopExchange {
  readonly timeMs: number
  readonly remoteAddress: string
  readonly request: ShopRequest
  readonly response: ShopResponse
  /** Bytes of the response body. */
  readonly bytes: number
}

/** Before a request is handled: `'deny'` answers 403 with no data, `'mask'` masks protected fields. */
export type ShopGate = (
  remoteAddress: string,
  request: ShopRequest,
  timeMs: number,
) => 'allow' | 'mask' | 'deny' | 'throttle'

/** Options of {@link startShopServer}. */
export interface ShopServerOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  readonly port?: number
  /** Listen address: loopback only, the lab never serves the network. @default '127.0.0.1' */
  readonly host?: string
  /** Called before handling (the demo's in-process guard). */
  readonly gate?: ShopGate
  /** Called after every response (the demo's request hook). */
  readonly onExchange?: (exchange: ShopExchange) => void
  /** Clock. @default Date.now */
  readonly now?: () => number
}

/** A running shop: its URL and a close function. */
export interface RunningShop {
  readonly server: Server
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

const MAX_BODY_BYTES = 64 * 1024

/** Starts the demo shop over HTTP on loopback. */
export async function startShopServer(
  state: ShopState,
  options: ShopServerOptions = {},
): Promise<RunningShop> {
  const now = options.now ?? Date.now
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY_BYTES) chunks.push(chunk)
    })
    req.on('end', () => {
      const request: ShopRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers as Record<string, string | undefined>,
        body: Buffer.concat(chunks).toString('utf8'),
      }
      const remoteAddress = req.socket.remoteAddress ?? ''
      const timeMs = now()
      const gate = options.gate?.(remoteAddress, request, timeMs) ?? 'allow'
      let response: ShopResponse
      if (gate === 'deny' || gate === 'throttle') {
        const status = gate === 'deny' ? 403 : 429
        const body = JSON.stringify({
          error: gate === 'deny' ? 'blocked by HarvestGuard' : 'slow down',
        })
        response = {
          status,
          headers: { 'content-type': 'application/json' },
          body,
          data: undefined,
          user: '-',
          account: '',
          keyId: '',
        }
      } else {
        response = handleShopRequest(state, request, { mask: gate === 'mask' })
      }
      const body = response.body
      const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength
      res.writeHead(response.status, { ...response.headers, 'content-length': String(bytes) })
      res.end(req.method === 'HEAD' ? undefined : body)
      options.onExchange?.({ timeMs, remoteAddress, request, response, bytes })
    })
  })
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    server,
    port: address.port,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
