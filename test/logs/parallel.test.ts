import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { compileCatalogue, type RouteSpec } from '../../src/core/catalogue.ts'
import type { Event } from '../../src/core/event.ts'
import { createKeyer } from '../../src/keyer/index.ts'
import { openLogSource, openParallelLogSource } from '../../src/logs/index.ts'
import {
  IDENTITY_TAP_URL as TAP,
  IdentityTable,
  type IdentityWire,
} from '../../src/report/index.ts'

const ELASTIC = new URL('../fixtures/logs/elastic-apache_logs.log', import.meta.url).pathname
const SECRET = 'test-secret-0123456789abcdef'
const ROUTES: RouteSpec[] = [
  {
    route: 'GET /blog/tags/:tag',
    resource: 'page',
    exposes: [
      {
        each: '$.posts[*]',
        subject: 'post:{.id}',
        fields: { id: '.id', name: '.author' },
        count: 5,
        key: 'tag:{tag}',
      },
    ],
  },
  {
    route: 'GET /presentations/*',
    resource: 'page',
    exposes: [{ subject: 'deck:{*}', fields: ['other'] }],
  },
]

function plain(e: Event): unknown {
  return {
    timeMs: e.timeMs,
    method: e.method,
    route: e.route,
    path: e.path,
    status: e.status,
    bytes: e.bytes,
    resource: e.resource,
    principals: [...e.principals],
    exposures: e.exposures.map((x) => ({ subject: x.subject, fields: x.fields })),
    client: { ...e.client },
    ordinal: e.ordinal,
  }
}

describe('two-thread log reader', () => {
  it('yields the same events and counts as the single-thread reader', async () => {
    const single = openLogSource({
      files: [ELASTIC],
      keyer: createKeyer(SECRET),
      catalogue: compileCatalogue(ROUTES),
      user: 'account',
    })
    const a: unknown[] = []
    for await (const e of single) a.push(plain(e))
    const par = openParallelLogSource({
      files: [ELASTIC],
      secret: SECRET,
      routes: ROUTES,
      user: 'account',
    })
    const b: unknown[] = []
    for await (const e of par) b.push(plain(e))
    assert.equal(b.length, 9_999)
    assert.deepEqual(b, a)
    assert.equal(par.stats.lines, single.stats.lines)
    assert.equal(par.stats.malformed, 1)
    assert.deepEqual(par.stats.samples, single.stats.samples)
    assert.ok(
      a.some((e) => (e as Event).exposures.length === 5),
      'the catalogue produced exposures',
    )
  })

  it('streams the same events through one reused Event (forEach), on one thread and two', async () => {
    const opts = { files: [ELASTIC], user: 'account' as const }
    const batched: unknown[] = []
    for await (const e of openLogSource({
      ...opts,
      keyer: createKeyer(SECRET),
      catalogue: compileCatalogue(ROUTES),
    }))
      batched.push(plain(e))
    const single: unknown[] = []
    const seen = new Set<Event>()
    let chunks = 0
    await openLogSource({
      ...opts,
      keyer: createKeyer(SECRET),
      catalogue: compileCatalogue(ROUTES),
    }).forEach(
      (e) => {
        seen.add(e)
        single.push(plain(e))
      },
      () => chunks++,
    )
    assert.equal(seen.size, 1, 'one Event object for the whole file')
    assert.ok(chunks >= 1)
    assert.deepEqual(single, batched)
    const par = openParallelLogSource({ ...opts, secret: SECRET, routes: ROUTES, tap: TAP })
    const two: unknown[] = []
    await par.forEach((e) => two.push(plain(e)))
    assert.deepEqual(two, batched)
    // the tap (the report's identities, kept in the reader thread) saw every event
    const table = IdentityTable.fromWire(par.tapResult as IdentityWire[])
    let requests = 0
    for (const id of table.values()) requests += id.requests
    assert.equal(requests, 9_999)
  })

  it('lets a timer abort while a slow consumer keeps the queue full', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hg-par-'))
    const big = join(dir, 'big.log')
    const text = await readFile(ELASTIC)
    await writeFile(big, Buffer.concat(Array.from({ length: 10 }, () => text)))
    try {
      const controller = new AbortController()
      const par = openParallelLogSource({
        files: [big],
        secret: SECRET,
        routes: [],
        signal: controller.signal,
      })
      let n = 0
      let spin = 0
      await par.forEach(() => {
        // a consumer slower than the reader (as the engine is), so batches are always waiting
        if (n++ === 0) setTimeout(() => controller.abort(), 0)
        for (let k = 0; k < 20_000; k++) spin += k & 1
      })
      assert.ok(spin > 0)
      assert.ok(n > 0 && n < 99_990, `${n} events before the timer's abort took effect`)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('stops the reader thread when aborted', async () => {
    // ten copies: several 4 MiB chunks, so the abort lands mid-file
    const dir = await mkdtemp(join(tmpdir(), 'hg-par-'))
    const big = join(dir, 'big.log')
    const text = await readFile(ELASTIC)
    await writeFile(big, Buffer.concat(Array.from({ length: 10 }, () => text)))
    try {
      const controller = new AbortController()
      const par = openParallelLogSource({
        files: [big],
        secret: SECRET,
        routes: [],
        signal: controller.signal,
      })
      let n = 0
      for await (const batch of par.batches()) {
        n += batch.length
        controller.abort()
      }
      assert.ok(n > 0 && n < 99_990, `${n} events before the abort took effect`)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
