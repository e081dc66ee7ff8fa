/**
 * HarvestGuard as Express middleware (Express 4 and 5). Mount it before the routes it guards.
 * @example
 * import express from 'express'
 * import { harvestGuard } from 'harvestguard/express'
 * const app = express()
 * app.use(harvestGuard({ engine, keyer, catalogue }))
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Guard, type GuardOptions, createGuard, guardExchange } from '../http/index.ts'

/** Options of the Express adapter: the guard's options, or a guard already built. */
export type ExpressGuardOptions = GuardOptions | Guard

/**
 * Express middleware: answers judged clients itself, otherwise calls `next()` with the
 * response watched. Typed structurally so Express need not be installed to type-check.
 */
export function harvestGuard(
  options: ExpressGuardOptions,
): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void {
  const guard = 'begin' in options ? options : createGuard(options)
  return (req, res, next) => {
    try {
      guardExchange(guard, req, res, () => next())
    } catch (error) {
      next(error)
    }
  }
}
