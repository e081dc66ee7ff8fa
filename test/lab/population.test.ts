import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  FIRST_USER_ID,
  ShopState,
  createPopulation,
  exportPopulation,
  handleShopRequest,
} from '../../src/lab/index.ts'

describe('population', () => {
  it('derives the same people from the same seed, in any order', () => {
    const a = createPopulation({ seed: 42, users: 5000 })
    const b = createPopulation({ seed: 42, users: 5000 })
    const ids = [FIRST_USER_ID + 4999, FIRST_USER_ID, FIRST_USER_ID + 1234]
    const fromA = ids.map((id) => a.user(id))
    const fromB = ids
      .toReversed()
      .map((id) => b.user(id))
      .toReversed()
    assert.deepEqual(fromA, fromB)
    assert.deepEqual(a.commentPage(50_001, 1), b.commentPage(50_001, 1))
    assert.deepEqual(a.partner(3), b.partner(3))
  })

  it('gives another seed other people', () => {
    const a = createPopulation({ seed: 1, users: 1000 })
    const b = createPopulation({ seed: 2, users: 1000 })
    let same = 0
    for (let id = FIRST_USER_ID; id < FIRST_USER_ID + 1000; id++)
      if (a.phone(id) === b.phone(id)) same++
    assert.ok(same < 5, `${same} identical phone numbers across seeds`)
  })

  it('writes synthetic mainland mobile numbers, distinct for nearly everyone', () => {
    const pop = createPopulation({ seed: 7, users: 20_000 })
    const seen = new Set<string>()
    for (let id = FIRST_USER_ID; id <= pop.lastUserId; id++) {
      const phone = pop.phone(id)
      assert.match(phone, /^1[3-9]\d{9}$/)
      seen.add(phone)
    }
    assert.ok(seen.size > 19_990)
  })

  it('scales to millions without materialising anyone', () => {
    const before = process.memoryUsage().heapUsed
    const pop = createPopulation({ seed: 3, users: 50_000_000 })
    const last = pop.user(pop.lastUserId)
    assert.equal(last.userId, FIRST_USER_ID + 50_000_000 - 1)
    assert.ok(process.memoryUsage().heapUsed - before < 20 * 1024 * 1024)
  })

  it('gives each partner customers of its own and only of its own', () => {
    const pop = createPopulation({ seed: 5, users: 10_000 })
    const customers = pop.customersOf(2)
    assert.ok(customers.length > 500 && customers.length < 1500, `${customers.length} customers`)
    for (let n = 0; n < 200; n++) {
      const id = pop.customerOf(2, n)
      assert.ok(pop.isCustomerOf(2, id))
      assert.ok(!pop.isCustomerOf(3, id))
    }
  })

  it('exports accounts the shop of the same seed accepts, and partners with their customers', () => {
    const pop = createPopulation({ seed: 11, users: 2000 })
    const exported = exportPopulation(pop)
    assert.equal(exported.accounts.length, 2000)
    assert.deepEqual(exported.users, {
      first: FIRST_USER_ID,
      last: FIRST_USER_ID + 1999,
      count: 2000,
    })
    const shop = new ShopState(createPopulation({ seed: 11, users: 2000 }))
    const account = exported.accounts[777]!
    const login = handleShopRequest(shop, {
      method: 'POST',
      path: '/api/login',
      headers: {},
      body: JSON.stringify({ username: account.username, password: account.password }),
    })
    assert.equal(login.status, 200)
    const partner = exported.partners[1]!
    assert.deepEqual(partner.customers, pop.customersOf(1))
    const lookup = handleShopRequest(shop, {
      method: 'GET',
      path: `/partner/v1/customers/${partner.customers[0]}`,
      headers: { authorization: `Bearer ${partner.apiKey}` },
    })
    assert.equal(lookup.status, 200)
    assert.equal(lookup.user, partner.keyId)
  })
})
