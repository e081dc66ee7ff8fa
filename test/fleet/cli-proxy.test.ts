/**
 * `store: {kind: redis}` and `journal: {kind: postgres}` are a config change only: a real
 * `harvestguard proxy` process started from a config file naming the machine's Redis and
 * PostgreSQL, in front of a loopback upstream, publishes its ledgers to Redis and records its
 * decisions in PostgreSQL, and flushes both when stopped with SIGTERM.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import pg from 'pg'
import {
  deleteRedisKeys,
  POSTGRES_URL,
  REDIS_HOST,
  REDIS_PORT,
  requireService,
} from '../support/services.ts'
import { COMMENTS_ROUTE_YAML, spawnProxy, startCommentsApp } from '../support/proxy-process.ts'

const redisSkip = await requireService('Redis', REDIS_HOST, REDIS_PORT)
const postgresSkip = await requireService('PostgreSQL', '127.0.0.1', 5432)
const skip = redisSkip || postgresSkip
const RECORDS_PER_PAGE = 50

describe('harvestguard proxy with store redis and journal postgres', { skip }, () => {
  const tag = randomBytes(4).toString('hex')
  const schema = `hg_cli_${tag}`
  const prefix = `hgtest:cli:${tag}:`
  const dir = mkdtempSync(join(tmpdir(), 'hg-cli-fleet-'))
  after(async () => {
    rmSync(dir, { recursive: true, force: true })
    if (skip !== false) return
    const pool = new pg.Pool({ connectionString: POSTGRES_URL })
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await pool.end()
    await deleteRedisKeys(prefix)
  })

  it('records a decision in PostgreSQL and its ledgers in Redis, and exits cleanly on SIGTERM', async () => {
    // the application: every comments page names 50 distinct users
    const { server: upstream, url: upstreamUrl } = await startCommentsApp(500_000, RECORDS_PER_PAGE)
    const config = join(dir, 'harvestguard.yaml')
    writeFileSync(
      config,
      `secret: cli-fleet-test-secret-0123456789
store:
  kind: redis
  redis:
    url: redis://${REDIS_HOST}:${REDIS_PORT}
    keyPrefix: '${prefix}'
    syncInterval: 100ms
journal:
  kind: postgres
  postgres:
    url: ${POSTGRES_URL}
    schema: ${schema}
routes:
${COMMENTS_ROUTE_YAML}`,
    )
    const proxy = spawnProxy({ config, upstream: upstreamUrl })
    const child = proxy.child
    const exited = proxy.exited
    const url = await proxy.url
    // one client walking the comment pages: 40 pages, 2,000 distinct people
    let served = 0
    for (let page = 0; page < 40; page++) {
      const res = await fetch(`${url}/api/items/7/comments?page=${page}`)
      await res.arrayBuffer()
      if (res.status === 200) served++
    }
    assert.ok(served > 0, 'the proxy forwards to the upstream')
    child.kill('SIGTERM')
    const [code, signal] = (await exited) as [number | null, string | null]
    upstream.close()
    assert.equal(signal, null, `exits by itself on SIGTERM (stderr: ${proxy.stderr()})`)
    assert.equal(code, 0, `exit code 0 (stderr: ${proxy.stderr()})`)

    const pool = new pg.Pool({ connectionString: POSTGRES_URL })
    try {
      const { rows } = await pool.query<{ principal: string; action: string }>(
        `SELECT principal, action FROM "${schema}".decisions`,
      )
      assert.ok(rows.length > 0, 'a decision was journaled in PostgreSQL')
      assert.ok(
        rows.some((r) => r.principal === 'ip:127.0.0.1'),
        `the client's address was judged: ${JSON.stringify(rows)}`,
      )
    } finally {
      await pool.end()
    }
    const redis = new Redis({ host: REDIS_HOST, port: REDIS_PORT })
    try {
      const key = `${prefix}{ip:127.0.0.1}:fleet`
      const fields = await redis.hkeys(key)
      assert.ok(
        fields.some((f) => f.startsWith('l:')),
        `the guard published its ledger of the client to Redis (${key}: ${fields.join(', ')})`,
      )
    } finally {
      redis.disconnect()
    }
  })
})
