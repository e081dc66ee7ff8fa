/**
 * HarvestGuard for a plain `node:http` server: wraps a request listener.
 * @example
 * import { createServer } from 'node:http'
 * import { harvestGuard } from 'harvestguard/node'
 * const guarded = harvestGuard({ engine, keyer, catalogue })
 * createServer(guarded((req, res) => res.end('hello'))).listen(8080)
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import { type Guard, type GuardOptions, createGuard, guardExchange } from '../http/index.ts'

/** Options of the node adapter: the guard's options, or a guard already built (shared engine). */
export type NodeGuardOptions = GuardOptions | Guard

/** Builds (or reuses) the guard behind an adapter. */
export function toGuard(options: NodeGuardOptions): Guard {
  return 'begin' in options ? options : createGuard(options)
}

/**
 * A wrapper for request listeners: each request is judged first (and may be answered with a
 * block, throttle or challenge), then the listener runs with its response accounted and, for
 * principals under `mask`, rewritten.
 */
export function harvestGuard(
  options: NodeGuardOptions,
): <Req extends IncomingMessage, Res extends ServerResponse<Req>>(
  listener: RequestListener<typeof IncomingMessage, typeof ServerResponse>,
) => (req: Req, res: Res) => void {
  const guard = toGuard(options)
  return (listener) => (req, res) => {
    guardExchange(guard, req, res, () => {
      listener(req, res)
    })
  }
}
