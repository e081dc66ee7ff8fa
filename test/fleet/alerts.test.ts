/**
 * Alerts across a fleet: every guard judges the shared ledgers and takes its own decision on the
 * same harvester, so each guard's AlertGate raised the same alert. FleetAlertDedupe claims each
 * alert in the machine's Redis (SET NX with the action's ttl) and forwards only the guard's that
 * won. Three engines with RedisLedgerStore on the machine's Redis, sync rounds driven by event
 * time, alerts written by real JSON-lines sinks.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { AlertGate, FleetAlertDedupe, JsonLinesAlertSink } from '../../src/alerts/index.ts'
import { createEngine } from '../../src/core/index.ts'
import type { Alert, AlertSink } from '../../src/core/index.ts'
import { RedisLedgerStore } from '../../src/stores/redis-ledger-store.ts'
import { REDIS_HOST, REDIS_PORT, requireService } from '../support/services.ts'
import { apiEvent, defaultPolicy } from '../stores/fleet-support.ts'

const skip = await requireService('Redis', REDIS_HOST, REDIS_PORT)
const policy = defaultPolicy()
const T0 = 1_800_000_000_000
const SYNC_MS = 1000
const GAP_MS = 50
const REQUESTS = 900

function readAlerts(file: string): Alert[] {
  let text = ''
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return []
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Alert)
}

/** Alerts per actor and action over every guard's file. */
function sentPer(files: readonly string[]): Map<string, number> {
  const sent = new Map<string, number>()
  for (const f of files) {
    for (const a of readAlerts(f)) {
      const k = `${a.actor} ${a.action}`
      sent.set(k, (sent.get(k) ?? 0) + 1)
    }
  }
  return sent
}

describe('alerts from a fleet of 3 guards', { skip }, () => {
  const tag = randomBytes(4).toString('hex')
  const dir = mkdtempSync(join(tmpdir(), 'hg-fleet-alerts-'))
  const client = skip === false ? new Redis({ host: REDIS_HOST, port: REDIS_PORT }) : undefined
  after(async () => {
    rmSync(dir, { recursive: true, force: true })
    if (client === undefined) return
    const keys = await client.keys(`hgtest:alerts:${tag}:*`)
    if (keys.length > 0) await client.del(...keys)
    client.disconnect()
  })

  /** A harvester round-robin over 3 guards; `wrap` builds each guard's sink around its file. */
  async function run(name: string, wrap: (file: string) => AlertSink): Promise<string[]> {
    const prefix = `hgtest:alerts:${tag}:${name}:`
    const stores = [1, 2, 3].map(
      (g) =>
        new RedisLedgerStore({
          client: client as Redis,
          policy,
          guardId: `g${g}`,
          keyPrefix: prefix,
          syncIntervalMs: 0,
        }),
    )
    const files = stores.map((_, g) => join(dir, `${name}-${g}.jsonl`))
    const gates = files.map((f) => new AlertGate({ sinks: [wrap(f)], minAction: 'mask' }))
    const engines = stores.map((store, g) => {
      const engine = createEngine({ policy, store })
      engine.onDecision((d) => gates[g]!.consider(d))
      return engine
    })
    const principals = ['ip:198.51.100.99', `session:${tag}`]
    let nextSync = T0 + SYNC_MS
    for (let i = 0; i < REQUESTS; i++) {
      const t = T0 + i * GAP_MS
      while (t >= nextSync) {
        for (const s of stores) await s.sync()
        nextSync += SYNC_MS
      }
      engines[i % 3]!.observe(apiEvent(principals, t, [7_000_000 + i]))
    }
    for (const s of stores) await s.close()
    for (const g of gates) await g.close()
    return files
  }

  it('sends each escalation once for the whole fleet', async () => {
    // without the claim: every guard that decided sends its own copy
    const plain = sentPer(await run('plain', (path) => new JsonLinesAlertSink({ path })))
    const dedupes: FleetAlertDedupe[] = []
    const deduped = sentPer(
      await run('deduped', (path) => {
        const d = new FleetAlertDedupe({
          client: client as Redis,
          policy,
          keyPrefix: `hgtest:alerts:${tag}:deduped:`,
          sinks: [new JsonLinesAlertSink({ path })],
        })
        dedupes.push(d)
        return d
      }),
    )
    console.log(
      `# alerts per actor and action, 3 guards: without the fleet claim ${JSON.stringify(Object.fromEntries(plain))}; with it ${JSON.stringify(Object.fromEntries(deduped))}`,
    )
    assert.ok(
      [...plain.values()].some((n) => n > 1),
      'the guards each raise the same alert without the claim',
    )
    assert.deepEqual([...deduped.keys()].toSorted(), [...plain.keys()].toSorted(), 'same alerts')
    for (const [k, n] of deduped) assert.equal(n, 1, `${k}: sent once`)
    const stats = dedupes.map((d) => d.stats)
    assert.equal(
      stats.reduce((s, x) => s + x.forwarded + x.suppressed, 0),
      [...plain.values()].reduce((s, n) => s + n, 0),
      'every guard raised it; one forwarded it',
    )
  })

  it('forwards an alert when Redis does not answer, and says so', async () => {
    const down = new Redis({
      host: '127.0.0.1',
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    down.on('error', () => {})
    const file = join(dir, 'down.jsonl')
    const errors: string[] = []
    const dedupe = new FleetAlertDedupe({
      client: down,
      policy,
      sinks: [new JsonLinesAlertSink({ path: file })],
      onError: (e) => errors.push(e.code),
    })
    const gate = new AlertGate({ sinks: [dedupe], minAction: 'mask' })
    gate.consider({
      principal: 'ip:198.51.100.100',
      actor: 'ip:198.51.100.100',
      action: 'block',
      score: 120,
      readings: [],
      linked: [],
      timeMs: T0,
      expiresAtMs: T0 + 60_000,
      shadow: false,
    })
    await gate.close()
    down.disconnect()
    assert.equal(readAlerts(file).length, 1, 'a duplicate is better than a silent harvester')
    assert.deepEqual(errors, ['HG_STORE_UNAVAILABLE'])
    assert.equal(dedupe.stats.failed, 1)
  })
})
