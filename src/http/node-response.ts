/**
 * Guarding a node:http exchange (used by the node and Express adapters): sends the guard's
 * answers, and wraps `ServerResponse` so the body is teed for accounting or held for masking,
 * with headers fixed up (Content-Length, ETag) before they leave. Bodies above the cap stream
 * through untouched.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { BoundedBuffer } from './body.ts'
import type { BodyPlan, Gate, Guard } from './guard.ts'
import type { Answer } from './problem.ts'
import { type RequestFacts, rawHeaderNames } from './request.ts'

/** The guard's view of a node request. */
export function nodeRequestFacts(req: IncomingMessage): RequestFacts {
  return {
    method: req.method ?? 'GET',
    // Express rewrites req.url under a mount path; originalUrl is what the client asked for.
    url: (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/',
    remoteAddress: req.socket.remoteAddress ?? '',
    headers: req.headers,
    rawHeaderNames: rawHeaderNames(req.rawHeaders),
    secure: (req.socket as Partial<TLSSocket>).encrypted === true,
  }
}

/** Sends an answer on a node response and accounts it. */
export function sendAnswer(res: ServerResponse, gate: Gate, answer: Answer, method: string): void {
  const body = Buffer.from(answer.body, 'utf8')
  res.writeHead(answer.status, { ...answer.headers, 'content-length': String(body.length) })
  res.end(method === 'HEAD' ? undefined : body)
  gate.finish({
    status: answer.status,
    bytes: body.length,
    contentType: answer.headers['content-type'],
  })
}

type WriteCb = (error?: Error | null) => void

function toBuffer(chunk: unknown, encoding: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk
  if (typeof chunk === 'string')
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
  if (chunk instanceof Uint8Array)
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  return Buffer.from(String(chunk))
}

function lengthOf(res: ServerResponse): number | undefined {
  const v = res.getHeader('content-length')
  if (v === undefined) return undefined
  const n = Number(Array.isArray(v) ? v[0] : v)
  return Number.isFinite(n) ? n : undefined
}

/**
 * Wraps `res` so the response is accounted (and masked if the gate says so). Call before the
 * application runs; accounting happens when the application ends the response.
 */
export function watchResponse(res: ServerResponse, gate: Gate, capBytes: number): void {
  const origWriteHead = res.writeHead
  type Loose = (this: ServerResponse, ...args: unknown[]) => unknown
  const rawWrite = res.write as unknown as Loose
  const rawEnd = res.end as unknown as Loose
  const call = (fn: Loose, ...args: unknown[]): unknown => {
    inner = true
    try {
      return fn.apply(res, args)
    } finally {
      inner = false
    }
  }
  let plan: BodyPlan | undefined
  let buffer: BoundedBuffer | undefined
  let holding = false
  let headPending = false
  let bytes = 0
  let finished = false
  let inner = false

  const account = (body: Buffer | undefined, masked: boolean): void => {
    if (finished) return
    finished = true
    // After the body went to the socket: accounting adds nothing to the response's latency.
    gate.finishSoon({
      status: res.statusCode,
      bytes,
      contentType: res.getHeader('content-type') as string | undefined,
      body,
      plan,
      masked,
    })
  }

  const decide = (): BodyPlan => {
    if (plan !== undefined) return plan
    const ct = res.getHeader('content-type')
    const ce = res.getHeader('content-encoding')
    plan = gate.plan(
      typeof ct === 'string' ? ct : undefined,
      typeof ce === 'string' ? ce : undefined,
      lengthOf(res),
    )
    if (plan.inspect) buffer = new BoundedBuffer(capBytes)
    holding = plan.hold
    return plan
  }

  const flushHead = (): void => {
    if (!headPending) return
    headPending = false
    origWriteHead.call(res, res.statusCode)
  }

  // writeHead bakes headers at once; defer it so a held body can still fix Content-Length.
  res.writeHead = function writeHead(this: ServerResponse, status: number, ...rest: unknown[]) {
    // node's own implicit writeHead (from write/end) must go straight through.
    if (inner)
      return (origWriteHead as (...a: unknown[]) => ServerResponse).call(res, status, ...rest)
    res.statusCode = status
    const headers = rest[rest.length - 1]
    if (typeof rest[0] === 'string') res.statusMessage = rest[0]
    if (headers !== undefined && typeof headers === 'object' && headers !== null) {
      if (Array.isArray(headers)) {
        const pairs: unknown[] = headers
        if (pairs.length > 0 && !Array.isArray(pairs[0]))
          for (let i = 0; i + 1 < pairs.length; i += 2)
            res.setHeader(String(pairs[i]), pairs[i + 1] as string)
        else for (const p of pairs as [string, string][]) res.setHeader(p[0], p[1])
      } else
        for (const [k, v] of Object.entries(headers as OutgoingHttpHeaders))
          if (v !== undefined) res.setHeader(k, v)
    }
    headPending = true
    return this
  } as typeof res.writeHead

  res.write = function write(
    this: ServerResponse,
    chunk: unknown,
    encoding?: unknown,
    cb?: unknown,
  ) {
    const p = decide()
    const callback = (typeof encoding === 'function' ? encoding : cb) as WriteCb | undefined
    const buf = toBuffer(chunk, encoding)
    bytes += buf.length
    if (holding) {
      if (buffer!.push(buf)) {
        if (callback !== undefined) process.nextTick(callback)
        return true
      }
      // Over the cap: give up masking, release what was held and stream the rest.
      holding = false
      flushHead()
      for (const c of buffer!.take()) call(rawWrite, c)
      return call(rawWrite, buf, callback) as boolean
    }
    if (p.inspect) buffer!.push(buf)
    flushHead()
    return call(rawWrite, buf, callback) as boolean
  } as typeof res.write

  res.end = function end(this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) {
    let callback: (() => void) | undefined
    if (typeof chunk === 'function') {
      callback = chunk as () => void
      chunk = undefined
    } else if (typeof encoding === 'function') callback = encoding as () => void
    else if (typeof cb === 'function') callback = cb as () => void
    const p = decide()
    const last = chunk === undefined || chunk === null ? undefined : toBuffer(chunk, encoding)
    if (last !== undefined) bytes += last.length
    if (holding) {
      const fits = last === undefined || buffer!.push(last)
      if (fits) {
        const held = buffer!.concat()
        const masked = gate.maskEncoded(held, p)
        const out = masked ?? held
        if (out !== held) {
          res.setHeader('content-length', String(out.length))
          res.removeHeader('etag')
        }
        bytes = out.length
        flushHead()
        call(rawEnd, out, callback)
        account(held, masked !== undefined)
        return this
      }
      holding = false
      flushHead()
      for (const c of buffer!.take()) call(rawWrite, c)
      call(rawEnd, last, callback)
      account(undefined, false)
      return this
    }
    if (p.inspect && last !== undefined) buffer!.push(last)
    flushHead()
    call(rawEnd, last, callback)
    account(p.inspect && !buffer!.overflowed ? buffer!.concat() : undefined, false)
    return this
  } as typeof res.end

  // Responses the application abandons (client gone) are still accounted once.
  res.once('close', () => account(undefined, false))
}

/**
 * Runs one node exchange through the guard: answers, delays, or lets `next` run with the
 * response watched. Shared by the node and Express adapters.
 */
export function guardExchange(
  guard: Guard,
  req: IncomingMessage,
  res: ServerResponse,
  next: () => void,
): void {
  const gate = guard.begin(nodeRequestFacts(req))
  if (gate.answer !== undefined) {
    sendAnswer(res, gate, gate.answer, req.method ?? 'GET')
    return
  }
  watchResponse(res, gate, guard.inspectBytes)
  if (gate.delayMs > 0) setTimeout(next, gate.delayMs)
  else next()
}
