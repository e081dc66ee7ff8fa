import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'undici'
import { HarvestGuardMetrics, METRIC_NAMES, startMetricsServer } from '../../src/metrics/index.ts'

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('HarvestGuardMetrics', () => {
  it('exports every documented metric', async () => {
    const text = await new HarvestGuardMetrics({ defaultMetrics: false }).text()
    for (const name of METRIC_NAMES) assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name)
  })

  it('turns the engine totals read at scrape time into counters and gauges', async () => {
    let events = 10
    let tracked = 3
    const metrics = new HarvestGuardMetrics({
      defaultMetrics: false,
      sources: {
        events: () => events,
        trackedPrincipals: () => tracked,
        evictions: () => 2,
        queuedDeltas: () => 7,
        syncAgeMs: () => 1500,
      },
    })
    assert.equal(value(await metrics.text(), 'harvestguard_events_total'), 10)
    events = 25
    tracked = 1
    const text = await metrics.text()
    assert.equal(value(text, 'harvestguard_events_total'), 25)
    assert.equal(value(text, 'harvestguard_tracked_principals'), 1)
    assert.equal(value(text, 'harvestguard_evictions_total'), 2)
    assert.equal(value(text, 'harvestguard_sync_queued_deltas'), 7)
    assert.equal(value(text, 'harvestguard_sync_lag_seconds'), 1.5)
  })

  it('counts decisions by action, store errors by operation and sync batches', async () => {
    const metrics = new HarvestGuardMetrics({ defaultMetrics: false })
    metrics.decision('block')
    metrics.decision('block')
    metrics.storeError('push')
    metrics.sync(40, 3)
    metrics.sync(2, 1)
    const text = await metrics.text()
    assert.equal(value(text, 'harvestguard_decisions_total{action="block"}'), 2)
    assert.equal(value(text, 'harvestguard_decisions_total{action="mask"}'), 0)
    assert.equal(value(text, 'harvestguard_store_errors_total{operation="push"}'), 1)
    assert.equal(value(text, 'harvestguard_sync_batch_size_count'), 2)
    assert.equal(value(text, 'harvestguard_sync_batch_size_sum'), 42)
  })
})

describe('metrics endpoint', () => {
  it('serves /metrics on loopback only to the admin bearer token', async () => {
    const metrics = new HarvestGuardMetrics({ defaultMetrics: false })
    metrics.decision('throttle')
    const server = await startMetricsServer(metrics, { token: 'admin-token', port: 0 })
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
      const none = await request(server.url)
      assert.equal(none.statusCode, 401)
      await none.body.dump()
      const wrong = await request(server.url, { headers: { authorization: 'Bearer nope' } })
      assert.equal(wrong.statusCode, 401)
      await wrong.body.dump()
      const ok = await request(server.url, { headers: { authorization: 'Bearer admin-token' } })
      assert.equal(ok.statusCode, 200)
      assert.match(String(ok.headers['content-type']), /^text\/plain/)
      const text = await ok.body.text()
      assert.equal(value(text, 'harvestguard_decisions_total{action="throttle"}'), 1)
      const other = await request(server.url.replace('/metrics', '/other'), {
        headers: { authorization: 'Bearer admin-token' },
      })
      assert.equal(other.statusCode, 404)
      await other.body.dump()
    } finally {
      await server.close()
    }
  })

  it('refuses to start without a token', async () => {
    await assert.rejects(
      startMetricsServer(new HarvestGuardMetrics({ defaultMetrics: false }), {
        token: '',
        port: 0,
      }),
      {
        code: 'HG_METRICS_TOKEN_REQUIRED',
      },
    )
  })
})
