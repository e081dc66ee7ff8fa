import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  A1_DEFAULTS,
  A3_DEFAULTS,
  CRAWLER_NETWORKS,
  DAY_MS,
  LAB_EPOCH_MS,
  ShopState,
  createA1,
  createA2,
  createA3,
  createA4,
  createA5,
  createB1,
  createB2,
  createB3,
  createB4,
  createB5,
  createB6,
  createPopulation,
  createSimContext,
  loadLabSetup,
  localHour,
  runVirtual,
  type SimActor,
  type SimContext,
  type Step,
} from '../../src/lab/index.ts'

const setup = loadLabSetup(undefined, { HARVESTGUARD_SECRET: 'lab-test-secret-0123456789abcdef' })

interface Seen {
  steps: Step[]
  statuses: number[]
  users: string[]
}

/** Runs actors unguarded for `days` and returns what each did. */
function simulate(
  days: number,
  build: (ctx: SimContext) => SimActor[],
  users = 20_000,
): { seen: Map<string, Seen>; ctx: SimContext } {
  const population = createPopulation({ seed: 4, users })
  const ctx = createSimContext(population, 4, LAB_EPOCH_MS, days, 'virtual')
  const actors = build(ctx)
  const seen = new Map<string, Seen>(
    actors.map((a) => [a.id, { steps: [], statuses: [], users: [] }]),
  )
  runVirtual({
    state: new ShopState(population),
    actors,
    catalogue: setup.catalogue,
    keyer: setup.keyer,
    protectedMask: setup.protectedMask,
    endMs: ctx.endMs,
    onExchange: (x) => {
      const s = seen.get(actors[x.actor]!.id)!
      s.steps.push(x.step)
      s.statuses.push(x.response.status)
      s.users.push(x.response.user)
    },
  })
  return { seen, ctx }
}

const only = (seen: Map<string, Seen>): Seen => [...seen.values()][0]!
const gaps = (steps: Step[]) => steps.slice(1).map((s, i) => s.atMs - steps[i]!.atMs)
const isPage = (path: string) =>
  path === '/' || path.startsWith('/item/') || path.startsWith('/search')
const hours = (steps: Step[]) => new Set(steps.map((s) => Math.floor(localHour(s.atMs))))

describe('A1 partner insider', () => {
  const { seen, ctx } = simulate(2, (c) => createA1(c))
  const a1 = only(seen)
  it('uses one partner key from at most its configured IPs', () => {
    assert.deepEqual(
      new Set(a1.steps.map((s) => s.apiKey)),
      new Set([ctx.population.partner(0).apiKey]),
    )
    assert.ok(new Set(a1.steps.map((s) => s.ip)).size <= A1_DEFAULTS.ips)
    assert.ok(a1.steps.every((s) => s.path.startsWith('/partner/v1/customers/')))
  })
  it('asks every 2-10 s around the clock', () => {
    const g = gaps(a1.steps)
    assert.ok(Math.min(...g) >= 2000 && Math.max(...g) <= 10_000)
    assert.equal(hours(a1.steps).size, 24)
    assert.ok(a1.steps.length > (2 * 86_400) / 7, `${a1.steps.length} requests in 2 days`)
  })
  it('mixes about 10% real lookups of its own customers into the harvest', () => {
    const ids = a1.steps.map((s) => Number(s.path.split('/').pop()))
    const own = ids.filter((id) => ctx.population.isCustomerOf(0, id)).length / ids.length
    // Its own customers are ~10% of everyone, so random picks add ~9% on top of the 10%.
    assert.ok(own > 0.15 && own < 0.25, `own share ${own}`)
    assert.ok(a1.users.every((u) => u === 'pk1'))
  })
})

describe('A2 sprinter', () => {
  const { seen } = simulate(0.05, (c) => createA2(c))
  const a2 = only(seen)
  it('walks profiles by sequential ID from one IP with a library user agent', () => {
    assert.equal(new Set(a2.steps.map((s) => s.ip)).size, 1)
    assert.ok(a2.steps.every((s) => s.userAgent.startsWith('python-requests/')))
    const ids = a2.steps
      .filter((s) => s.path.startsWith('/api/users/'))
      .map((s) => Number(s.path.slice(11)))
    assert.ok(ids.length > 1000)
    assert.ok(ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1))
  })
  it('runs at 20-100 requests a second', () => {
    const spanS = (a2.steps.at(-1)!.atMs - a2.steps[0]!.atMs) / 1000
    const rate = a2.steps.length / spanS
    assert.ok(rate >= 20 && rate <= 100, `rate ${rate}/s`)
  })
})

describe('A3 swarm', () => {
  const { seen } = simulate(0.1, (c) => createA3(c))
  const a3 = only(seen)
  it('spreads over hundreds of IPs with browser user agents and never loads assets', () => {
    const ips = new Set(a3.steps.map((s) => s.ip))
    assert.ok(ips.size > 0.9 * A3_DEFAULTS.ips && ips.size <= A3_DEFAULTS.ips, `${ips.size} IPs`)
    assert.ok(a3.steps.every((s) => s.userAgent.startsWith('Mozilla/5.0')))
    assert.ok(a3.steps.every((s) => !s.path.startsWith('/static/')))
  })
  it('sends only a few requests per IP per minute', () => {
    const minutes = (a3.steps.at(-1)!.atMs - a3.steps[0]!.atMs) / 60_000
    const perIpPerMinute = a3.steps.length / A3_DEFAULTS.ips / minutes
    assert.ok(perIpPerMinute > 1 && perIpPerMinute < 5, `${perIpPerMinute}`)
  })
})

describe('A4 mimic', () => {
  const { seen } = simulate(1, (c) => createA4(c))
  const a4 = only(seen)
  it('logs in with several accounts and loads page assets like a browser', () => {
    const logins = a4.steps.filter((s) => s.path === '/api/login')
    assert.ok(logins.length >= 10)
    assert.ok(new Set(a4.users.filter((u) => u !== '-')).size >= 10)
    assert.ok(a4.steps.some((s) => s.path.startsWith('/static/')))
  })
  it("follows item pages to their commenters' profiles, with the logged-in phone field", () => {
    const profiles = a4.steps.filter((s) => s.path.startsWith('/api/users/'))
    assert.ok(profiles.length > 1000)
    assert.ok(profiles.every((s) => s.sid !== '' && s.referer.startsWith('/item/')))
  })
})

describe('A5 account farm', () => {
  const { seen } = simulate(2, (c) => createA5(c))
  const a5 = only(seen)
  it('registers about a thousand fresh accounts', () => {
    const registered = a5.steps.filter((s) => s.path === '/api/register')
    assert.ok(registered.length >= 950 && registered.length < 1100, `${registered.length}`)
  })
  it('has each account read a few dozen profiles a day', () => {
    const perAccount = new Map<string, number>()
    a5.steps.forEach((s, i) => {
      if (s.path.startsWith('/api/users/'))
        perAccount.set(a5.users[i]!, (perAccount.get(a5.users[i]!) ?? 0) + 1)
    })
    const mean = [...perAccount.values()].reduce((x, y) => x + y, 0) / perAccount.size / 2
    assert.ok(mean > 15 && mean < 45, `mean ${mean} a day`)
  })
})

describe('benign populations', () => {
  const { seen, ctx } = simulate(3, (c) => [
    ...createB1(c, { actors: 150 }),
    ...createB2(c, { actors: 3 }),
    ...createB3(c, { actors: 30 }),
    ...createB4(c, { desks: 2 }),
    ...createB5(c, { actors: 1 }),
    ...createB6(c, { nats: 1, usersPerNat: 80 }),
  ])
  const of = (prefix: string) =>
    [...seen.entries()].filter(([id]) => id.startsWith(prefix)).map(([, s]) => s)

  it('B1 shoppers browse in sessions of pages with their assets, less at night', () => {
    const all = of('B1-').flatMap((s) => s.steps)
    const pages = all.filter((s) => isPage(s.path)).length
    const assets = all.filter((s) => s.path.startsWith('/static/')).length
    assert.ok(assets > pages, `${assets} assets for ${pages} pages`)
    const night = all.filter((s) => localHour(s.atMs) >= 2 && localHour(s.atMs) < 6).length
    const evening = all.filter((s) => localHour(s.atMs) >= 19 && localHour(s.atMs) < 23).length
    assert.ok(night * 4 < evening, `night ${night}, evening ${evening}`)
  })
  it('B2 heavy shoppers view hundreds of pages a day', () => {
    for (const s of of('B2-')) {
      const perDay = s.steps.filter((x) => isPage(x.path) || x.path.startsWith('/api/')).length / 3
      assert.ok(perDay > 100 && perDay < 1500, `${perDay} a day`)
    }
  })
  it('B3 buyers log in and look at their own orders', () => {
    for (const s of of('B3-')) {
      if (s.steps.length === 0) continue
      assert.ok(s.steps.some((x) => x.path === '/api/login'))
      assert.ok(s.steps.some((x) => x.path === '/api/me/orders'))
    }
  })
  it('B4 desks look up only their own customers, 100-2,000 a day, in business hours', () => {
    for (const [i, s] of of('B4-').entries()) {
      const partner = i + 1
      assert.ok(
        s.steps.every((x) => ctx.population.isCustomerOf(partner, Number(x.path.split('/').pop()))),
      )
      assert.ok(s.steps.every((x) => localHour(x.atMs) >= 9 && localHour(x.atMs) < 18))
      const days = new Set(s.steps.map((x) => Math.floor((x.atMs + 8 * 3_600_000) / DAY_MS)))
      const perDay = s.steps.length / days.size
      assert.ok(perDay >= 100 && perDay <= 2000, `${perDay} a day`)
    }
  })
  it('B5 crawls only public pages from the allowlisted network', () => {
    const s = of('B5-')[0]!
    assert.ok(s.steps.length > 1000)
    assert.ok(s.steps.every((x) => !x.path.startsWith('/api/') && !x.path.startsWith('/partner/')))
    assert.ok(s.steps.every((x) => x.ip.startsWith(CRAWLER_NETWORKS[0].slice(0, -4))))
  })
  it('B6 puts many people with their own browsers behind one address', () => {
    const people = of('B6-').filter((s) => s.steps.length > 0)
    assert.ok(people.length > 40)
    assert.equal(new Set(people.flatMap((s) => s.steps.map((x) => x.ip))).size, 1)
    assert.ok(new Set(people.map((s) => s.steps[0]!.userAgent)).size > 10)
  })
})
