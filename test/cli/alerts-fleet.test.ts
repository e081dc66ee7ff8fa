/**
 * A fleet alerts once: two guards built by the CLI's own wiring (buildInline, as `proxy` and
 * `serve` build theirs) from one config with `store.kind: redis` on the machine's Redis, each
 * behind a real reverse proxy, a harvester alternating between them until refused, and a real
 * webhook receiver on loopback. Both guards decide on the harvester and raise their own alerts;
 * the receiver gets each escalation once, because the wiring claims alerts on the store's Redis.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildInline } from '../../src/cli/commands/proxy.ts'
import type { CliIo } from '../../src/cli/program.ts'
import type { Alert } from '../../src/core/index.ts'
import { createReverseProxy } from '../../src/proxy/index.ts'
import { startReceiver } from '../support/receiver.ts'
import { deleteRedisKeys, REDIS_HOST, REDIS_PORT, requireService } from '../support/services.ts'
import { COMMENTS_ROUTE_YAML, startCommentsApp } from '../support/proxy-process.ts'

const skip = await requireService('Redis', REDIS_HOST, REDIS_PORT)
const RECORDS_PER_PAGE = 50

describe('alerts from two guards sharing Redis, wired from config', { skip }, () => {
  const tag = randomBytes(4).toString('hex')
  const prefix = `hgtest:cli-alerts:${tag}:`
  const dir = mkdtempSync(join(tmpdir(), 'hg-cli-alerts-fleet-'))
  after(async () => {
    rmSync(dir, { recursive: true, force: true })
    if (skip !== false) return
    await deleteRedisKeys(prefix)
  })

  it('delivers each escalation once although both guards raised it', async () => {
    const delivered: Alert[] = []
    const { server: receiver, url: hook } = await startReceiver((_req, body, res) => {
      delivered.push(JSON.parse(body) as Alert)
      res.writeHead(204).end()
    })
    const { server: upstream, url: upstreamUrl } = await startCommentsApp(900_000, RECORDS_PER_PAGE)
    const config = join(dir, 'harvestguard.yaml')
    writeFileSync(
      config,
      `secret: cli-alerts-fleet-secret-0123456789
store:
  kind: redis
  redis:
    url: redis://${REDIS_HOST}:${REDIS_PORT}
    keyPrefix: '${prefix}'
    syncInterval: 100ms
alerts:
  minAction: mask
  webhooks:
    - url: ${hook}/hook
routes:
${COMMENTS_ROUTE_YAML}`,
    )
    let out = ''
    let err = ''
    const io: CliIo = {
      out: (t) => (out += t),
      err: (t) => (err += t),
      env: {},
      exitCode: 0,
    }
    const stacks = [
      await buildInline({ config, journal: false }, io),
      await buildInline({ config, journal: false }, io),
    ]
    assert.match(out, /once per fleet, claimed in Redis/)
    const proxies = stacks.map((s) =>
      createReverseProxy({
        upstream: upstreamUrl,
        guard: s.guard,
      }),
    )
    const urls = await Promise.all(proxies.map((p) => p.listen('127.0.0.1', 0, false)))
    // the harvester alternates between the two guards until it has been refused 60 times
    let refused = 0
    for (let page = 0; page < 3000 && refused < 60; page++) {
      const res = await fetch(`${urls[page % 2]}/api/items/9/comments?page=${page}`)
      await res.arrayBuffer()
      if (res.status === 403 || res.status === 429) refused++
      // give the syncer a turn now and then, as concurrent traffic would
      if (page % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.equal(refused, 60, 'the harvester was refused')
    // both guards saw the harvester escalate: without the claim each would have sent its own
    const raised = stacks.map((s) => s.alerting.gate?.raised ?? 0)
    // and counted them in the guard's Prometheus registry
    for (const [g, s] of stacks.entries()) {
      const text = await s.metrics.text()
      const counted = [...text.matchAll(/^harvestguard_alerts_total\{action="\w+"\} (\d+)$/gm)]
        .map((m) => Number(m[1]))
        .reduce((a, b) => a + b, 0)
      assert.equal(counted, raised[g], `guard ${g}: harvestguard_alerts_total`)
    }
    for (const p of proxies) await p.close()
    for (const s of stacks) await s.close()
    upstream.close()
    receiver.close()
    const escalations = delivered.map((a) => `${a.actor} ${a.action}`)
    console.log(`# raised per guard ${JSON.stringify(raised)}; delivered ${escalations.length}`)
    assert.ok(delivered.length > 0, `alerts delivered (stderr: ${err})`)
    assert.equal(new Set(escalations).size, escalations.length, `once each: ${escalations}`)
    assert.ok(
      raised.every((n) => n > 0),
      `both guards raised alerts: ${JSON.stringify(raised)}`,
    )
    assert.ok(
      raised[0]! + raised[1]! > delivered.length,
      `the fleet claim suppressed duplicates: raised ${JSON.stringify(raised)}, delivered ${delivered.length}`,
    )
  })
})
