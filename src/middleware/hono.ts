/**
 * HarvestGuard as Hono middleware. On Node (`@hono/node-server`) the client address comes from
 * the socket; on other runtimes pass `remoteAddress`.
 * @example
 * import { Hono } from 'hono'
 * import { harvestGuard } from 'harvestguard/hono'
 * const app = new Hono()
 * app.use(harvestGuard({ engine, keyer, catalogue }))
 */
import type { Context, MiddlewareHandler } from 'hono'
import {
  BoundedBuffer,
  type Guard,
  type GuardOptions,
  type HeaderMap,
  createGuard,
} from '../http/index.ts'

/** Options of the Hono adapter. */
export type HonoGuardOptions = (GuardOptions | { readonly guard: Guard }) & {
  /** The TCP peer address of a request. @default the node-server socket's remoteAddress */
  readonly remoteAddress?: (c: Context) => string
}

function nodeAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined
  return env?.incoming?.socket?.remoteAddress ?? ''
}

/** Reads at most `cap` bytes; on overflow returns the read part and a stream of the whole. */
async function readBounded(
  stream: ReadableStream<Uint8Array>,
  cap: number,
): Promise<{ body: Buffer } | { whole: ReadableStream<Uint8Array> }> {
  const reader = stream.getReader()
  const buffer = new BoundedBuffer(cap)
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return { body: buffer.concat() }
    const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    if (!buffer.push(chunk)) {
      const head = buffer.take()
      head.push(chunk)
      return {
        whole: new ReadableStream<Uint8Array>({
          pull: async (controller) => {
            const next = head.shift()
            if (next !== undefined) return controller.enqueue(next)
            const r = await reader.read()
            if (r.done) controller.close()
            else controller.enqueue(r.value)
          },
          cancel: (reason) => reader.cancel(reason),
        }),
      }
    }
  }
}

/** Hono middleware. */
export function harvestGuard(options: HonoGuardOptions): MiddlewareHandler {
  const guard = 'guard' in options ? options.guard : createGuard(options)
  const addressOf = options.remoteAddress ?? nodeAddress
  return async (c, next) => {
    const raw = c.req.raw
    const headers: Record<string, string> = {}
    const names: string[] = []
    raw.headers.forEach((value, name) => {
      headers[name] = value
      names.push(name)
    })
    const url = new URL(raw.url)
    const env = c.env as { incoming?: { rawHeaders?: string[] } } | undefined
    const rawNames = env?.incoming?.rawHeaders?.filter((_, i) => i % 2 === 0)
    const gate = guard.begin({
      method: raw.method,
      url: url.pathname + url.search,
      remoteAddress: addressOf(c),
      headers: headers as HeaderMap,
      rawHeaderNames: rawNames ?? names,
      secure: url.protocol === 'https:',
    })
    const answer = gate.answer
    if (answer !== undefined) {
      gate.finish({
        status: answer.status,
        bytes: Buffer.byteLength(answer.body),
        contentType: answer.headers['content-type'],
      })
      return new Response(raw.method === 'HEAD' ? null : answer.body, {
        status: answer.status,
        headers: answer.headers,
      })
    }
    if (gate.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, gate.delayMs))
    await next()
    if (gate.skip) return
    const res = c.res
    const contentType = res.headers.get('content-type') ?? undefined
    const length = res.headers.get('content-length')
    const plan = gate.plan(
      contentType,
      res.headers.get('content-encoding') ?? undefined,
      length === null ? undefined : Number(length),
    )
    // Accounting waits until the response has been handed back (finishSoon): no added latency.
    if (!plan.inspect || res.body === null) {
      gate.finishSoon({
        status: res.status,
        bytes: length === null ? 0 : Number(length),
        contentType,
      })
      return
    }
    const read = await readBounded(res.body, guard.inspectBytes)
    if ('whole' in read) {
      c.res = new Response(read.whole, res)
      gate.finishSoon({ status: res.status, bytes: 0, contentType })
      return
    }
    let out = read.body
    let masked = false
    if (plan.hold) {
      const rewritten = gate.maskEncoded(read.body, plan)
      if (rewritten !== undefined) {
        out = rewritten
        masked = true
      }
    }
    const fresh = new Response(out, res)
    if (masked) {
      fresh.headers.set('content-length', String(out.length))
      fresh.headers.delete('etag')
    }
    c.res = undefined as unknown as Response
    c.res = fresh
    gate.finishSoon({
      status: res.status,
      bytes: out.length,
      contentType,
      body: read.body,
      plan,
      masked,
    })
  }
}
