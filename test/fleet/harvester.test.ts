/**
 * A harvester spreading requests round-robin over a fleet of 3 guards, against one guard that
 * sees everything. Three engines run in-process, each with its own RedisLedgerStore on the
 * machine's Redis (distinct guard ids, one shared key prefix); the background sync is driven by
 * event time (every syncIntervalMs of the harvester's clock each guard runs one sync round), so
 * the test is deterministic and takes no wall-clock time.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { MemoryLedgerStore, actionRank, createEngine } from '../../src/core/index.ts'
import type { Engine, Event, LedgerStore } from '../../src/core/index.ts'
import { RedisLedgerStore } from '../../src/stores/redis-ledger-store.ts'
import { deleteRedisKeys, REDIS_HOST, REDIS_PORT, requireService } from '../support/services.ts'
import { apiEvent, defaultPolicy } from '../stores/fleet-support.ts'

const skip = await requireService('Redis', REDIS_HOST, REDIS_PORT)
const policy = defaultPolicy()
const T0 = 1_800_000_000_000
const SYNC_MS = 1000
const GAP_MS = 50 // the harvester's pace: 20 requests/s, one new record each
const REQUESTS = 1500

interface Run {
  /** Records served in the clear (verdict allow/observe when the request arrived). */
  leaked: number
  /** Request index from which the harvester got no more records in the clear (mask or stronger). */
  stoppedAt: number
}

/**
 * The harvester sends a Referer and browser headers, so volume (distinct records) is what must
 * stop it: the evidence that grows with what it took, and the one a fleet has to add up.
 */
function looksLikeABrowser(event: Event): Event {
  return {
    ...event,
    client: { ...event.client, referer: true, userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' },
  }
}

/** Drives the harvester against `engines` round-robin; `sync` runs every SYNC_MS of event time. */
async function harvest(engines: readonly Engine[], sync: () => Promise<void>): Promise<Run> {
  const principals = ['ip:198.51.100.77', 'net:198.51.100.0/24']
  let leaked = 0
  let stoppedAt = -1
  let nextSync = T0 + SYNC_MS
  for (let i = 0; i < REQUESTS; i++) {
    const t = T0 + i * GAP_MS
    while (t >= nextSync) {
      await sync()
      nextSync += SYNC_MS
    }
    const engine = engines[i % engines.length] as Engine
    const verdict = engine.judge(principals, t)
    const rank = actionRank(verdict.action)
    if (rank >= actionRank('mask') && stoppedAt < 0) stoppedAt = i
    if (rank >= actionRank('challenge')) {
      engine.observe({ ...looksLikeABrowser(apiEvent(principals, t, [])), status: 403 })
      continue
    }
    // masked responses carry the record without its protected fields: not a leak
    if (rank < actionRank('mask')) leaked++
    engine.observe(
      looksLikeABrowser(apiEvent(principals, t, rank < actionRank('mask') ? [1_000_000 + i] : [])),
    )
  }
  return { leaked, stoppedAt }
}

describe('a harvester spread over a fleet of 3 guards', { skip }, () => {
  const prefix = `hgtest:${randomBytes(4).toString('hex')}:`
  const client = skip === false ? new Redis({ host: REDIS_HOST, port: REDIS_PORT }) : undefined
  after(async () => {
    if (client === undefined) return
    await deleteRedisKeys(prefix, client)
    client.disconnect()
  })

  it('is stopped within one sync interval of when a single guard stops it', async () => {
    const single = await harvest(
      [createEngine({ policy, store: new MemoryLedgerStore() })],
      async () => {},
    )
    const stores = ['g1', 'g2', 'g3'].map(
      (guardId) =>
        new RedisLedgerStore({
          client: client as Redis,
          policy,
          guardId,
          keyPrefix: prefix,
          syncIntervalMs: 0,
        }),
    )
    const fleet = await harvest(
      stores.map((store) => createEngine({ policy, store })),
      async () => {
        for (const s of stores) await s.sync()
      },
    )
    const isolated = await harvest(
      [1, 2, 3].map(() => createEngine({ policy, store: new MemoryLedgerStore() as LedgerStore })),
      async () => {},
    )
    const perInterval = SYNC_MS / GAP_MS
    console.log(
      `# leaked: single guard ${single.leaked}, fleet of 3 with Redis ${fleet.leaked}, 3 guards without sharing ${isolated.leaked}; ` +
        `stopped at request ${single.stoppedAt} / ${fleet.stoppedAt} / ${isolated.stoppedAt}`,
    )
    assert.ok(single.stoppedAt > 0, 'the single guard stops the harvester')
    assert.ok(fleet.stoppedAt > 0, 'the fleet stops the harvester')
    // within one sync interval (plus one evaluation checkpoint of the policy) of the single guard
    const slack = perInterval + policy.settings.evaluation.everyRecords
    assert.ok(
      fleet.stoppedAt - single.stoppedAt <= slack,
      `fleet stopped at ${fleet.stoppedAt}, single at ${single.stoppedAt}`,
    )
    assert.ok(
      fleet.leaked - single.leaked <= slack,
      `fleet leaked ${fleet.leaked}, single ${single.leaked}`,
    )
    // and sharing is what makes the difference: unshared guards let it take far more
    assert.ok(
      isolated.leaked > fleet.leaked,
      `isolated ${isolated.leaked} vs fleet ${fleet.leaked}`,
    )
    for (const s of stores) await s.close()
  })
})
