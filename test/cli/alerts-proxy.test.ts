/**
 * `alerts:` in the config turns alerts on with no code: a real `harvestguard proxy` process in
 * front of a loopback application, a harvester walking the comment pages until it is refused,
 * and a real HTTP server on loopback receiving the webhooks. Checks the HMAC signature of every
 * body, that the first attempt's 503 is retried, that each escalation is sent once however many
 * requests were refused, the Slack-format body, the JSON-lines file and the journal's alerts.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Alert } from '../../src/core/index.ts'
import { openJournal } from '../../src/journal/index.ts'
import { COMMENTS_ROUTE_YAML, spawnProxy, startCommentsApp } from '../support/proxy-process.ts'
import { startReceiver } from '../support/receiver.ts'

const WEBHOOK_SECRET = 'webhook-hmac-secret-for-the-test-0123'
const RECORDS_PER_PAGE = 50

interface Received {
  readonly path: string
  readonly body: string
  readonly signature: string | undefined
  readonly status: number
}

describe('harvestguard proxy with alerts in its config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hg-cli-alerts-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('posts one signed alert per escalation to the webhook, retries a 503, writes the file and the journal', async (t) => {
    // the webhook receiver: the SIEM hook's first delivery is answered 503 (must be retried)
    const received: Received[] = []
    const { server: receiver, url: hook } = await startReceiver((req, body, res) => {
      const path = req.url ?? ''
      const status = path === '/siem' && !received.some((r) => r.path === path) ? 503 : 200
      received.push({
        path,
        body,
        signature: req.headers['x-harvestguard-signature'] as string | undefined,
        status,
      })
      res.writeHead(status).end()
    })
    // the application: every comments page names 50 distinct users
    const { server: upstream, url: upstreamUrl } = await startCommentsApp(700_000, RECORDS_PER_PAGE)
    // a failing assertion must not leave servers (or the proxy) keeping the test process alive
    t.after(() => {
      spawned?.kill('SIGKILL')
      for (const server of [upstream, receiver]) {
        server.closeAllConnections()
        server.close(() => {})
      }
    })
    let spawned: ChildProcess | undefined
    const alertsFile = join(dir, 'alerts.jsonl')
    const journalFile = join(dir, 'journal.db')
    const config = join(dir, 'harvestguard.yaml')
    writeFileSync(
      config,
      `secret: cli-alerts-test-secret-0123456789
store:
  snapshotPath: null
journal:
  path: ${journalFile}
  flushInterval: 50ms
alerts:
  minAction: mask
  webhooks:
    - url: ${hook}/siem
      secret: { env: HG_TEST_WEBHOOK_SECRET }
      retries: 3
      backoff: 20ms
    - url: ${hook}/slack/T000/B000/XXXX
      format: slack
  jsonl:
    path: ${alertsFile}
routes:
${COMMENTS_ROUTE_YAML}`,
    )
    const proxy = spawnProxy({
      config,
      upstream: upstreamUrl,
      env: { ...process.env, HG_TEST_WEBHOOK_SECRET: WEBHOOK_SECRET },
    })
    const child = proxy.child
    spawned = child
    const exited = proxy.exited
    const url = await proxy.url
    assert.match(
      proxy.stdout(),
      /alerts from mask to webhook http:\/\/127\.0\.0\.1:\d+ \(json, signed\)/,
    )
    assert.doesNotMatch(
      proxy.stdout(),
      /XXXX/,
      'the banner does not print the Slack URL path (its key)',
    )
    // one client walking the comment pages until it has been refused 60 times
    let refused = 0
    for (let page = 0; page < 2000 && refused < 60; page++) {
      const res = await fetch(`${url}/api/items/7/comments?page=${page}`)
      await res.arrayBuffer()
      if (res.status === 403 || res.status === 429) refused++
    }
    assert.equal(refused, 60, 'the harvester was refused')
    child.kill('SIGTERM')
    const [code, signal] = (await exited) as [number | null, string | null]
    upstream.close()
    receiver.close()
    assert.equal(signal, null, `exits by itself on SIGTERM (stderr: ${proxy.stderr()})`)
    assert.equal(code, 0, `exit code 0 (stderr: ${proxy.stderr()})`)

    // every delivery to the SIEM hook is signed with the configured secret
    const siem = received.filter((r) => r.path === '/siem')
    assert.ok(siem.length > 0, 'the SIEM webhook received alerts')
    for (const r of siem) {
      const expected = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(r.body).digest('hex')}`
      assert.equal(r.signature, expected, 'HMAC-SHA256 of the body with the webhook secret')
    }
    assert.ok(
      received.filter((r) => r.path !== '/siem').every((r) => r.signature === undefined),
      'a webhook without a secret sends no signature',
    )
    // the 503 was retried: the same alert arrives again and is accepted
    assert.equal(siem[0]?.status, 503)
    const refusedFirst = JSON.parse(siem[0]!.body) as Alert
    const accepted = siem.filter((r) => r.status === 200).map((r) => JSON.parse(r.body) as Alert)
    assert.ok(
      accepted.some((a) => a.id === refusedFirst.id),
      'the alert refused with 503 was delivered on a retry',
    )
    // one alert per actor and escalation, not per refused request
    const escalations = accepted.map((a) => `${a.actor} ${a.action}`)
    assert.equal(new Set(escalations).size, escalations.length, `once each: ${escalations}`)
    assert.ok(accepted.length < refused, `${accepted.length} alerts for ${refused} refusals`)
    assert.ok(
      accepted.some((a) => a.action === 'block' || a.action === 'throttle'),
      `an alert says the harvester is refused: ${escalations}`,
    )
    for (const a of accepted) assert.ok(a.message.includes(a.actor), a.message)
    // the Slack hook got the same alerts as Block Kit messages
    const slack = received.filter((r) => r.path === '/slack/T000/B000/XXXX' && r.status === 200)
    assert.equal(slack.length, accepted.length, 'the Slack hook received every alert')
    for (const r of slack) {
      const body = JSON.parse(r.body) as { text: string; blocks: unknown[] }
      assert.match(body.text, /^HarvestGuard: .* escalated /)
      assert.ok(body.blocks.length >= 2)
    }
    // the file holds the same alerts, and so does the journal
    const lines = readFileSync(alertsFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Alert)
    assert.deepEqual(lines.map((a) => a.id).toSorted(), accepted.map((a) => a.id).toSorted())
    const journal = await openJournal({ kind: 'sqlite', path: journalFile, flushIntervalMs: 50 })
    try {
      const journaled = await journal.alerts({ limit: 1000 })
      assert.deepEqual(
        journaled.map((a) => a.id).toSorted(),
        accepted.map((a) => a.id).toSorted(),
        'the journal recorded every alert',
      )
    } finally {
      await journal.close()
    }
  })
  it('on SIGTERM waits for slow deliveries, gives up a dead webhook at drainTimeout, exits 0', async (t) => {
    // /slow answers every alert after 200 ms; /dead answers 503 forever
    const slow: Alert[] = []
    let deadAttempts = 0
    const { server: receiver, url: hook } = await startReceiver((req, body, res) => {
      if (req.url === '/dead') {
        deadAttempts++
        res.writeHead(503).end()
        return
      }
      setTimeout(() => {
        slow.push(JSON.parse(body) as Alert)
        res.writeHead(200).end()
      }, 200)
    })
    const { server: upstream, url: upstreamUrl } = await startCommentsApp(800_000, RECORDS_PER_PAGE)
    // a failing assertion must not leave servers (or the proxy) keeping the test process alive
    t.after(() => {
      spawned?.kill('SIGKILL')
      for (const server of [upstream, receiver]) {
        server.closeAllConnections()
        server.close(() => {})
      }
    })
    let spawned: ChildProcess | undefined
    const journalFile = join(dir, 'drain.db')
    const config = join(dir, 'drain.yaml')
    writeFileSync(
      config,
      `secret: cli-alerts-test-secret-0123456789
store:
  snapshotPath: null
journal:
  path: ${journalFile}
  flushInterval: 50ms
alerts:
  minAction: mask
  drainTimeout: 3s
  webhooks:
    - url: ${hook}/slow
    - url: ${hook}/dead
      retries: 20
      backoff: 10m
      maxBackoff: 10m
routes:
${COMMENTS_ROUTE_YAML}`,
    )
    const proxy = spawnProxy({ config, upstream: upstreamUrl })
    const child = proxy.child
    spawned = child
    const exited = proxy.exited
    const url = await proxy.url
    let refused = 0
    for (let page = 0; page < 2000 && refused < 20; page++) {
      const res = await fetch(`${url}/api/items/8/comments?page=${page}`)
      await res.arrayBuffer()
      if (res.status === 403 || res.status === 429) refused++
    }
    assert.equal(refused, 20, 'the harvester was refused')
    // at once: the slow hook still has alerts queued (200 ms each)
    child.kill('SIGTERM')
    const [code, signal] = (await exited) as [number | null, string | null]
    upstream.close()
    receiver.close()
    assert.equal(signal, null, `exits by itself on SIGTERM (stderr: ${proxy.stderr()})`)
    assert.equal(code, 0, `exit code 0 (stderr: ${proxy.stderr()})`)
    const journal = await openJournal({ kind: 'sqlite', path: journalFile, flushIntervalMs: 50 })
    let journaled: Alert[]
    try {
      journaled = await journal.alerts({ limit: 1000 })
    } finally {
      await journal.close()
    }
    assert.ok(journaled.length > 1, `alerts raised: ${journaled.length}`)
    assert.deepEqual(
      slow.map((a) => a.id).toSorted(),
      journaled.map((a) => a.id).toSorted(),
      'every alert reached the slow webhook before the process exited',
    )
    assert.ok(deadAttempts >= 1, 'the dead webhook was tried')
    const m = /alerts: (\d+) alert\(s\) not delivered by shutdown/.exec(proxy.stderr())
    assert.ok(m !== null, `the loss is reported: ${proxy.stderr()}`)
    assert.equal(Number(m[1]), journaled.length, 'what the dead webhook never took')
  })
})
