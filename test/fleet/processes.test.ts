/**
 * A harvester spread round-robin over 3 separate `harvestguard proxy` PROCESSES sharing the
 * machine's Redis (store kind redis, 100 ms sync), in front of one upstream, against a single
 * proxy process that sees all its requests, in the same test. The harvester walks user pages as
 * fast as it can, one new person per response, with a browser's headers: only the volume of
 * distinct records can stop it, which is what the fleet has to add up across processes.
 *
 * Real processes sync on their own wall-clock timers, so how many requests fit in one sync
 * interval depends on the machine; the assertion is therefore the one that timing cannot flip:
 * 3 unshared guards would each let the harvester take what one guard allows (about 3 times the
 * single guard's leak), the fleet must stay well below that.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { REDIS_HOST, REDIS_PORT, requireService } from '../support/services.ts'

const skip = await requireService('Redis', REDIS_HOST, REDIS_PORT)
const BIN = join(import.meta.dirname, '../../bin/harvestguard.js')
const MAX_REQUESTS = 1500

function configText(store: string): string {
  return `secret: fleet-process-test-secret-0123456789
${store}
routes:
  - route: GET /api/users/:userId/card
    resource: api
    exposes:
      - each: '$.people[*]'
        subject: 'user:{.userId}'
        fields: { id: '.userId', name: '.nickname', phone: '.phone' }
`
}

async function startProxy(
  config: string,
  upstream: string,
  dir: string,
): Promise<ChildProcess & { url: string }> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'proxy',
      '--config',
      config,
      '--listen',
      '127.0.0.1:0',
      '--upstream',
      upstream,
      '--no-journal',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir },
  )
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()))
  let stdout = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString()
      const m = /listening on (http:\/\/\S+)/.exec(stdout)
      if (m !== null) resolve(m[1] as string)
    })
    child.once('exit', (code) => reject(new Error(`proxy exited (${code}): ${stderr}`)))
  })
  return Object.assign(child, { url })
}

async function stop(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      const exited = once(c, 'exit')
      c.kill('SIGTERM')
      await exited
    }),
  )
}

/** Records served in the clear before the harvester is stopped, over `urls` round-robin. */
async function harvest(urls: readonly string[], first: number): Promise<number> {
  let leaked = 0
  for (let i = 0; i < MAX_REQUESTS; i++) {
    const id = first + i
    const res = await fetch(`${urls[i % urls.length]}/api/users/${id}/card`, {
      headers: {
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
        'accept-language': 'zh-CN,zh;q=0.9',
        accept: 'application/json',
        referer: 'http://127.0.0.1/shop',
      },
    })
    const body = await res.text()
    if (res.status === 200 && body.includes(`person ${id}`)) leaked++
    else return leaked
  }
  return leaked
}

describe('a harvester over 3 guard processes sharing Redis', { skip }, () => {
  const tag = randomBytes(4).toString('hex')
  const prefix = `hgtest:proc:${tag}:`
  const dir = mkdtempSync(join(tmpdir(), 'hg-fleet-proc-'))
  after(async () => {
    rmSync(dir, { recursive: true, force: true })
    if (skip !== false) return
    const redis = new Redis({ host: REDIS_HOST, port: REDIS_PORT })
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  })

  // todo: a single `harvestguard proxy` process does not stop this harvester yet (1500 of 1500
  // records served in the clear when driven by Node's fetch; curl at a slower pace was masked by
  // request 400; the engine alone stops the same stream at request 261 when its timestamps are
  // evenly spaced). The proxy feeds the engine the same Events (test/proxy/fast-harvester.test.ts
  // pins that); what differs is timing: a fast loop's ~1 ms gaps with a stall of 10-80 ms now and
  // then keep the periodicity signal silent, and ip/net/device volume alone is capped below mask
  // (volumeCap 35 < 40). The fix belongs in src/core. Runs and reports; passes once it is made.
  it(
    'leaks far less than 3 unshared guards would, compared with one guard in the same test',
    {
      todo: 'the single proxy process does not stop a fast Node-driven harvester yet',
    },
    async () => {
      const upstream = createServer((req, res) => {
        const id = Number(/\/api\/users\/(\d+)\/card/.exec(req.url ?? '')?.[1] ?? 0)
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(
          JSON.stringify({
            people: [
              { userId: id, nickname: `person ${id}`, phone: `139${String(id).padStart(8, '0')}` },
            ],
          }),
        )
      })
      upstream.listen(0, '127.0.0.1')
      await once(upstream, 'listening')
      const target = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
      const single = join(dir, 'single.yaml')
      writeFileSync(single, configText('store:\n  kind: memory'))
      const shared = join(dir, 'fleet.yaml')
      writeFileSync(
        shared,
        configText(
          `store:\n  kind: redis\n  redis:\n    url: redis://${REDIS_HOST}:${REDIS_PORT}\n    keyPrefix: '${prefix}'\n    syncInterval: 100ms`,
        ),
      )
      try {
        const one = await startProxy(single, target, dir)
        const singleLeaked = await harvest([one.url], 1_000_000)
        await stop([one])
        const fleet = await Promise.all([1, 2, 3].map(() => startProxy(shared, target, dir)))
        const fleetLeaked = await harvest(
          fleet.map((p) => p.url),
          2_000_000,
        )
        await stop(fleet)
        console.log(
          `# records leaked: single guard ${singleLeaked}, 3 guard processes sharing Redis ${fleetLeaked}`,
        )
        assert.ok(
          singleLeaked > 0 && singleLeaked < MAX_REQUESTS,
          `one guard stops it (${singleLeaked})`,
        )
        assert.ok(fleetLeaked < MAX_REQUESTS, `the fleet stops it (${fleetLeaked})`)
        assert.ok(
          fleetLeaked < 2 * singleLeaked,
          `fleet leaked ${fleetLeaked}; 3 unshared guards would leak about ${3 * singleLeaked}`,
        )
      } finally {
        upstream.close()
      }
    },
  )
})
