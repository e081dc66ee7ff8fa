// What a log line discloses by the route catalogue: path rules, count/key rules, and body rules
// on the response's root whose subject the request names (a log has no body).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  compileCatalogue,
  FIELD_BIT,
  logExposures,
  pathExposures,
  type RouteSpec,
} from '../../src/core/index.ts'

const digest = (ns: string, v: string): number =>
  (ns.length * 1_000_003 + v.length * 7919 + v.charCodeAt(v.length - 1)) % 2 ** 40

const ROUTES: RouteSpec[] = [
  {
    route: 'GET /api/users/:userId',
    resource: 'api',
    exposes: [
      { each: '$', subject: 'user:{userId}', fields: { id: '.userId', name: '.nickname' } },
      { each: '$', subject: 'user:{userId}', fields: { phone: '.phone' }, when: 'account' },
    ],
  },
  {
    route: 'GET /api/orders/:orderId',
    resource: 'api',
    exposes: [{ each: '$', subject: 'user:{.buyerId}', fields: { name: '.buyer' } }],
  },
  {
    route: 'GET /api/items/:itemId/comments',
    resource: 'api',
    exposes: [{ each: '$.comments[*]', subject: 'user:{.userId}', fields: { name: '.nickname' } }],
  },
]

describe('logExposures', () => {
  const catalogue = compileCatalogue(ROUTES)

  it('counts a root body rule whose subject the path names, with its declared classes', () => {
    const m = catalogue.match('GET', '/api/users/42')
    assert.ok(m !== undefined)
    assert.deepEqual(pathExposures(m, digest, false), [], 'the HTTP path-only view is unchanged')
    assert.deepEqual(logExposures(m, digest, false), [
      { subject: digest('user', '42'), fields: FIELD_BIT.id | FIELD_BIT.name },
    ])
    assert.deepEqual(logExposures(m, digest, true), [
      { subject: digest('user', '42'), fields: FIELD_BIT.id | FIELD_BIT.name | FIELD_BIT.phone },
    ])
  })

  it('counts nothing the body alone would name (element fields, list elements)', () => {
    const order = catalogue.match('GET', '/api/orders/7')
    const comments = catalogue.match('GET', '/api/items/9/comments')
    assert.ok(order !== undefined && comments !== undefined)
    assert.deepEqual(logExposures(order, digest, true), [])
    assert.deepEqual(logExposures(comments, digest, true), [])
  })
})
