/**
 * HarvestGuard as a Fastify plugin. Registered at the root, its hooks cover every route
 * (it skips Fastify's encapsulation like `fastify-plugin` does).
 * @example
 * import Fastify from 'fastify'
 * import { harvestGuard } from 'harvestguard/fastify'
 * const app = Fastify()
 * await app.register(harvestGuard, { engine, keyer, catalogue })
 */
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import {
  type Gate,
  type Guard,
  type GuardOptions,
  createGuard,
  nodeRequestFacts,
} from '../http/index.ts'

/** Options of the Fastify plugin: the guard's options, or a guard already built. */
export type FastifyGuardOptions = GuardOptions | { readonly guard: Guard }

type GatedRequest = FastifyRequest & { harvestGuard: Gate | null; harvestGuardJson: unknown }

function header(reply: FastifyReply, name: string): string | undefined {
  const v = reply.getHeader(name)
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined
}

function plugin(
  fastify: FastifyInstance,
  options: FastifyGuardOptions,
  done: (error?: Error) => void,
): void {
  let guard: Guard
  try {
    guard = 'guard' in options ? options.guard : createGuard(options)
  } catch (error) {
    done(error as Error)
    return
  }
  fastify.decorateRequest('harvestGuard', null)
  fastify.decorateRequest('harvestGuardJson', undefined)

  fastify.addHook('onRequest', (request, reply, next) => {
    const gate = guard.begin(nodeRequestFacts(request.raw))
    ;(request as GatedRequest).harvestGuard = gate
    const answer = gate.answer
    if (answer !== undefined) {
      reply.code(answer.status).headers(answer.headers).send(answer.body)
      return
    }
    if (gate.delayMs > 0) setTimeout(next, gate.delayMs)
    else next()
  })

  // The object before serialisation: accounting reads it without parsing the JSON again.
  fastify.addHook('preSerialization', (request, _reply, payload, next) => {
    ;(request as GatedRequest).harvestGuardJson = payload
    next(null, payload)
  })

  fastify.addHook('onSend', (request, reply, payload, next) => {
    const gate = (request as GatedRequest).harvestGuard
    if (gate === null || gate.skip) {
      next(null, payload)
      return
    }
    const contentType = header(reply, 'content-type')
    let out: unknown = payload
    let body: Buffer | undefined
    let bytes = 0
    let masked = false
    const json = gate.answer === undefined ? (request as GatedRequest).harvestGuardJson : undefined
    const plan =
      gate.answer === undefined && (typeof payload === 'string' || Buffer.isBuffer(payload))
        ? gate.plan(contentType, header(reply, 'content-encoding'), payload.length)
        : undefined
    if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
      bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length
      if (plan?.inspect === true && json === undefined)
        body = typeof payload === 'string' ? Buffer.from(payload) : payload
      if (plan?.hold === true) {
        const held = body ?? (typeof payload === 'string' ? Buffer.from(payload) : payload)
        const rewritten = gate.maskEncoded(held, plan)
        if (rewritten !== undefined) {
          masked = true
          out = rewritten
          bytes = rewritten.length
          reply.removeHeader('content-length')
          reply.removeHeader('etag')
        }
      }
    }
    // Accounted after the response is written (in the same event-loop turn), not before.
    gate.finishSoon({ status: reply.statusCode, bytes, contentType, body, plan, json, masked })
    next(null, out)
  })
  done()
}

const skip = plugin as FastifyPluginCallback<FastifyGuardOptions> & Record<symbol, unknown>
// Hooks must reach the routes of the parent context (what fastify-plugin sets).
skip[Symbol.for('skip-override')] = true
skip[Symbol.for('fastify.display-name')] = 'harvestguard'

/** The Fastify plugin. */
export const harvestGuard: FastifyPluginCallback<FastifyGuardOptions> = skip
