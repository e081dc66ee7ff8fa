import { after, afterEach, before, beforeEach, describe, it, mock } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingHttpHeaders, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Alert } from '../../src/core/ports.ts'
import { WebhookAlertSink, backoffDelayMs, slackPayload } from '../../src/alerts/index.ts'
import type { WebhookRetry } from '../../src/alerts/index.ts'

interface Received {
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/** A loopback receiver answering with the given statuses in turn (the last one repeats). */
async function receiver(statuses: number[]): Promise<{
  url: string
  received: Received[]
  next: () => Promise<Received>
  server: Server
}> {
  const received: Received[] = []
  const waiters: ((r: Received) => void)[] = []
  let i = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const r = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      received.push(r)
      res.statusCode = statuses[Math.min(i++, statuses.length - 1)] ?? 200
      res.end('ok')
      waiters.shift()?.(r)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    server,
    next: () => new Promise((resolve) => waiters.push(resolve)),
  }
}

function alert(id: string): Alert {
  return {
    id,
    timeMs: 1_700_000_000_000,
    actor: 'net:203.0.113.0/24',
    principal: 'ip:203.0.113.7',
    action: 'block',
    previousAction: 'throttle',
    score: 92,
    readings: [
      {
        signal: 'distinct-records',
        value: 1240,
        contribution: 60,
        note: '1,240 distinct records in 24h, budget 300',
      },
    ],
    message: 'net:203.0.113.0/24 escalated throttle -> block',
  }
}

describe('WebhookAlertSink', () => {
  let closers: (() => Promise<void>)[] = []
  beforeEach(() => {
    closers = []
  })
  afterEach(async () => {
    for (const close of closers.toReversed()) await close()
  })

  it('posts the alert as JSON signed with HMAC-SHA256 of the body', async () => {
    const r = await receiver([200])
    closers.push(() => new Promise((resolve) => r.server.close(() => resolve())))
    const sink = new WebhookAlertSink({ url: r.url, secret: 's3cret' })
    const got = r.next()
    sink.send(alert('a1'))
    const { headers, body } = await got
    await sink.close()
    assert.deepEqual(JSON.parse(body), alert('a1'))
    const expected = createHmac('sha256', 's3cret').update(body).digest('hex')
    assert.equal(headers['x-harvestguard-signature'], `sha256=${expected}`)
    assert.equal(headers['content-type'], 'application/json')
    assert.equal(sink.stats.delivered, 1)
  })

  it('sends no signature header without a secret', async () => {
    const r = await receiver([200])
    closers.push(() => new Promise((resolve) => r.server.close(() => resolve())))
    const sink = new WebhookAlertSink({ url: r.url })
    sink.send(alert('a1'))
    await sink.close()
    assert.equal(r.received[0]?.headers['x-harvestguard-signature'], undefined)
  })

  it('posts a Slack-compatible {text, blocks} body when asked', async () => {
    const r = await receiver([200])
    closers.push(() => new Promise((resolve) => r.server.close(() => resolve())))
    const sink = new WebhookAlertSink({ url: r.url, format: 'slack' })
    sink.send(alert('a1'))
    await sink.close()
    const body = JSON.parse(r.received[0]?.body ?? '{}') as {
      text: string
      blocks: { type: string }[]
    }
    assert.deepEqual(body, JSON.parse(JSON.stringify(slackPayload(alert('a1')))))
    assert.match(body.text, /escalated throttle -> block/)
    assert.ok(body.blocks.length >= 2)
    assert.ok(body.blocks.every((b) => typeof b.type === 'string'))
  })

  // one mocked period for every backoff test: undici keeps module-level timers, and a timer it
  // created under the mock goes stale once the mock is reset
  describe('with mocked timers', () => {
    before(() => mock.timers.enable({ apis: ['setTimeout'] }))
    after(() => mock.timers.reset())

    it('retries after 500s with growing backoff and delivers once the receiver recovers', async () => {
      const r = await receiver([500, 503, 200])
      closers.push(() => new Promise((resolve) => r.server.close(() => resolve())))
      const retries: WebhookRetry[] = []
      let onRetry: ((x: WebhookRetry) => void) | undefined
      const sink = new WebhookAlertSink({
        url: r.url,
        baseDelayMs: 1000,
        maxDelayMs: 60_000,
        // undici's own timeout timers would be created under the mock and go stale after it
        timeoutMs: 0,
        onRetry: (x) => {
          retries.push(x)
          onRetry?.(x)
        },
      })
      const retried = (): Promise<WebhookRetry> => new Promise((resolve) => (onRetry = resolve))
      let wait = retried()
      sink.send(alert('a1'))
      const first = await wait
      assert.equal(r.received.length, 1)
      wait = retried()
      mock.timers.tick(first.delayMs - 1)
      assert.equal(r.received.length, 1, 'no attempt before the backoff has passed')
      mock.timers.tick(1)
      const second = await wait
      assert.equal(r.received.length, 2)
      mock.timers.tick(second.delayMs)
      await sink.close()
      assert.equal(r.received.length, 3)
      assert.deepEqual(
        retries.map((x) => [x.attempt, x.status]),
        [
          [1, 500],
          [2, 503],
        ],
      )
      assert.ok(first.delayMs >= 500 && first.delayMs <= 1000, `first delay ${first.delayMs}`)
      assert.ok(second.delayMs >= 1000 && second.delayMs <= 2000, `second delay ${second.delayMs}`)
      assert.deepEqual(sink.stats, {
        queued: 0,
        delivered: 1,
        retries: 2,
        failed: 0,
        dropped: 0,
        abandoned: 0,
      })
    })

    it('gives up after maxAttempts and reports it, without throwing', async () => {
      const r = await receiver([500])
      closers.push(() => new Promise((resolve) => r.server.close(() => resolve())))
      const errors: string[] = []
      let onRetry: ((x: WebhookRetry) => void) | undefined
      const sink = new WebhookAlertSink({
        url: r.url,
        maxAttempts: 2,
        timeoutMs: 0,
        onError: (e) => errors.push(`${e.code} ${e.message}`),
        onRetry: (x) => onRetry?.(x),
      })
      const retry = new Promise<WebhookRetry>((resolve) => (onRetry = resolve))
      sink.send(alert('a1'))
      mock.timers.tick((await retry).delayMs)
      await sink.close()
      assert.equal(r.received.length, 2)
      assert.equal(errors.length, 1)
      assert.match(
        errors[0] ?? '',
        /^HG_ALERT_DELIVERY_FAILED .*a1 not delivered after 2 attempt\(s\): HTTP 500/,
      )
    })
  })

  it('does not retry a 4xx refusal', async () => {
    const r = await receiver([400])
    closers.push(() => new Promise((resolve) => r.server.close(() => resolve())))
    const sink = new WebhookAlertSink({ url: r.url })
    sink.send(alert('a1'))
    await sink.close()
    assert.equal(r.received.length, 1)
    assert.equal(sink.stats.failed, 1)
  })

  it('abandons what is still retrying at a shutdown deadline, reporting it', async () => {
    const r = await receiver([500])
    closers.push(() => new Promise((resolve) => r.server.close(() => resolve())))
    const errors: string[] = []
    let retried: (() => void) | undefined
    const sink = new WebhookAlertSink({
      url: r.url,
      // an hour between attempts: only abandon() can end this sink's work
      baseDelayMs: 3_600_000,
      maxDelayMs: 3_600_000,
      onError: (e) => errors.push(e.message),
      onRetry: () => retried?.(),
    })
    const waiting = new Promise<void>((resolve) => (retried = resolve))
    sink.send(alert('a1'))
    sink.send(alert('a2'))
    await waiting
    assert.equal(sink.pending, 2, 'a1 waiting for its retry, a2 queued')
    assert.equal(await sink.abandon(), 2)
    await sink.close()
    sink.send(alert('a3'))
    assert.equal(r.received.length, 1, 'nothing sent after abandon')
    assert.deepEqual(
      { ...sink.stats, pending: sink.pending },
      { queued: 0, delivered: 0, retries: 1, failed: 0, dropped: 0, abandoned: 2, pending: 0 },
    )
    assert.match(errors.join('\n'), /2 alert\(s\) abandoned at shutdown/)
  })

  it('keeps a bounded queue, dropping the oldest alerts', async () => {
    const r = await receiver([200])
    closers.push(() => new Promise((resolve) => r.server.close(() => resolve())))
    const sink = new WebhookAlertSink({ url: r.url, maxQueue: 2 })
    // the first is taken by the sender at once; of the next four only the newest two stay queued
    for (let i = 0; i < 5; i++) sink.send(alert(`a${i}`))
    await sink.close()
    assert.deepEqual(
      r.received.map((x) => (JSON.parse(x.body) as Alert).id),
      ['a0', 'a3', 'a4'],
    )
    assert.equal(sink.stats.dropped, 2)
  })

  it('backs off exponentially within the cap, with jitter in the upper half', () => {
    assert.equal(backoffDelayMs(1, 500, 30_000, 0), 250)
    assert.equal(backoffDelayMs(1, 500, 30_000, 1), 500)
    assert.equal(backoffDelayMs(4, 500, 30_000, 1), 4000)
    assert.equal(backoffDelayMs(20, 500, 30_000, 1), 30_000)
    assert.equal(backoffDelayMs(20, 500, 30_000, 0), 15_000)
  })
})
