import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  bodyExposures,
  compileCatalogue,
  parseJsonPath,
  parseTemplate,
  pathExposures,
  queryParam,
  renderTemplate,
  selectJsonPath,
  type JsonPath,
  validateRouteSpec,
  type RouteSpec,
} from '../../src/core/catalogue.ts'
import { HarvestGuardError } from '../../src/core/errors.ts'
import { FIELD_BIT, fieldClasses, type Exposure } from '../../src/core/exposure.ts'

/** A transparent digest for tests: remembers what it was asked, returns distinct numbers. */
function recordingKeyer(): { digest: (ns: string, v: string) => number; seen: string[] } {
  const ids = new Map<string, number>()
  const seen: string[] = []
  return {
    seen,
    digest(ns, v) {
      const k = `${ns}:${v}`
      seen.push(k)
      let id = ids.get(k)
      if (id === undefined) ids.set(k, (id = ids.size + 1))
      return id
    },
  }
}

const specs: RouteSpec[] = [
  {
    route: 'GET /api/users/:userId',
    resource: 'api',
    ordinal: 'userId',
    exposes: [
      { subject: 'user:{userId}', fields: ['id', 'name', 'city'] },
      { subject: 'user:{userId}', fields: ['phone'], when: 'account' },
    ],
  },
  { route: 'GET /api/users/me', resource: 'api', exposes: [] },
  {
    route: 'GET /api/items/:itemId/comments',
    resource: 'api',
    exposes: [
      {
        each: '$.comments[*]',
        subject: 'user:{.userId}',
        fields: { id: '.userId', name: '.nickname', comment: '.text' },
        count: 3,
        key: 'comments:{itemId}:{?page}',
      },
    ],
  },
  { route: 'GET /static/*', resource: 'asset' },
  {
    route: 'GET /search',
    resource: 'page',
    exposes: [{ subject: 'query:{?q}', fields: ['other'] }],
  },
  { route: '* /health', resource: 'other' },
]

describe('catalogue matching', () => {
  const catalogue = compileCatalogue(specs)

  it('matches a parameter route and extracts the parameter', () => {
    const m = catalogue.match('GET', '/api/users/42')
    assert.equal(m?.route.id, 'GET /api/users/:userId')
    assert.deepEqual(m?.params, { userId: '42' })
    assert.equal(m?.route.resource, 'api')
  })

  it('prefers a static segment over a parameter', () => {
    assert.equal(catalogue.match('GET', '/api/users/me')?.route.id, 'GET /api/users/me')
  })

  it('backtracks from a static branch that dead-ends', () => {
    const c = compileCatalogue([{ route: 'GET /a/b/c' }, { route: 'GET /a/:x/d' }])
    assert.deepEqual(c.match('GET', '/a/b/d')?.params, { x: 'b' })
  })

  it('reports the ordinal parameter as a number, or -1 when it is not numeric', () => {
    assert.equal(catalogue.match('GET', '/api/users/00123')?.ordinal, 123)
    assert.equal(catalogue.match('GET', '/api/users/abc')?.ordinal, -1)
    assert.equal(catalogue.match('GET', '/api/items/5/comments')?.ordinal, -1)
  })

  it('separates the query string and ignores a fragment', () => {
    const m = catalogue.match('GET', '/api/items/7/comments?page=2#top')
    assert.equal(m?.query, 'page=2')
    assert.deepEqual(m?.params, { itemId: '7' })
  })

  it('matches a tail wildcard with any number of segments', () => {
    assert.equal(catalogue.match('GET', '/static/js/app.js')?.params['*'], 'js/app.js')
    assert.equal(catalogue.match('GET', '/static')?.route.resource, 'asset')
  })

  it('tolerates trailing and doubled slashes, case and percent-encoding in static segments', () => {
    for (const p of ['/api/users/42/', '//api//users/42', '/API/Users/42', '/api/%75sers/42']) {
      assert.equal(catalogue.match('GET', p)?.route.id, 'GET /api/users/:userId', p)
    }
  })

  it('percent-decodes parameters and survives malformed encoding', () => {
    assert.equal(catalogue.match('GET', '/api/users/a%20b')?.params['userId'], 'a b')
    assert.equal(catalogue.match('GET', '/api/users/%E0%A4%A')?.params['userId'], '%E0%A4%A')
  })

  it('lets HEAD use GET routes and a * method match anything', () => {
    assert.equal(catalogue.match('head', '/api/users/1')?.route.method, 'GET')
    assert.equal(catalogue.match('DELETE', '/health')?.route.id, '* /health')
    assert.equal(catalogue.match('POST', '/api/users/1'), undefined)
  })

  it('returns undefined for unknown paths', () => {
    assert.equal(catalogue.match('GET', '/nothing/here'), undefined)
    assert.equal(compileCatalogue([]).match('GET', '/'), undefined)
  })

  it('never throws on arbitrary method and path strings', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (method, path) => {
        const m = catalogue.match(method, path)
        assert.ok(m === undefined || typeof m.route.id === 'string')
      }),
    )
  })
})

describe('catalogue exposures', () => {
  const catalogue = compileCatalogue(specs)

  it('merges rules naming the same subject and honours when: account', () => {
    const m = catalogue.match('GET', '/api/users/42')!
    const k1 = recordingKeyer()
    const anon = pathExposures(m, k1.digest, false)
    assert.equal(anon.length, 1)
    assert.deepEqual(fieldClasses(anon[0]!.fields), ['id', 'name', 'city'])
    assert.deepEqual(k1.seen, ['user:42'])
    const withAccount = pathExposures(m, recordingKeyer().digest, true)
    assert.equal(withAccount.length, 1)
    assert.deepEqual(fieldClasses(withAccount[0]!.fields), ['id', 'phone', 'name', 'city'])
  })

  it('numbers count/key records for body-less feeders', () => {
    const m = catalogue.match('GET', '/api/items/9/comments?page=2')!
    const k = recordingKeyer()
    const exposures = pathExposures(m, { digest: k.digest }, false)
    assert.equal(exposures.length, 3)
    assert.deepEqual(k.seen, ['comments:9:2#0', 'comments:9:2#1', 'comments:9:2#2'])
    assert.equal(exposures[0]!.fields, FIELD_BIT.id | FIELD_BIT.name | FIELD_BIT.comment)
  })

  it('renders a missing query parameter of a key as empty', () => {
    const k = recordingKeyer()
    pathExposures(catalogue.match('GET', '/api/items/9/comments')!, k.digest, false)
    assert.equal(k.seen[0], 'comments:9:#0')
  })

  it('drops a subject whose query parameter is missing', () => {
    const k = recordingKeyer()
    assert.equal(pathExposures(catalogue.match('GET', '/search')!, k.digest, false).length, 0)
    assert.equal(pathExposures(catalogue.match('GET', '/search?q=a+b')!, k.digest, false).length, 1)
    assert.deepEqual(k.seen, ['query:a b'])
  })

  it('extracts one record per body element with the fields present', () => {
    const m = catalogue.match('GET', '/api/items/9/comments')!
    const k = recordingKeyer()
    const body = {
      comments: [
        { userId: 1, nickname: 'a', text: 'hi' },
        { userId: 2, nickname: '', text: 'yo' },
        { userId: 1, text: 'again' },
        { nickname: 'no id' },
        'not an object',
      ],
    }
    const exposures = bodyExposures(m, body, k.digest, false)
    assert.equal(exposures.length, 2)
    assert.deepEqual(fieldClasses(exposures[0]!.fields), ['id', 'name', 'comment'])
    assert.deepEqual(fieldClasses(exposures[1]!.fields), ['id', 'comment'])
    assert.deepEqual(new Set(k.seen), new Set(['user:1', 'user:2']))
  })

  it('finds nothing in a body of the wrong shape', () => {
    const m = catalogue.match('GET', '/api/items/9/comments')!
    for (const body of [null, 3, 'x', [], { comments: 'no' }, { comments: [null] }]) {
      assert.deepEqual(bodyExposures(m, body, recordingKeyer().digest, false), [])
    }
  })
})

/** The single value a path without `[*]` reaches: the definition the compiled readers follow. */
function getPath(value: unknown, path: JsonPath): unknown {
  let v = value
  for (const step of path.steps) {
    if (v === null || typeof v !== 'object') return undefined
    if (step.kind === 'index') v = Array.isArray(v) ? v[step.index] : undefined
    else if (step.kind === 'key')
      v = Object.hasOwn(v, step.key) ? (v as Record<string, unknown>)[step.key] : undefined
    else return undefined
  }
  return v
}

/** bodyExposures as first written, interpreting paths and templates per element. */
function interpretedBodyExposures(
  m: NonNullable<ReturnType<ReturnType<typeof compileCatalogue>['match']>>,
  body: unknown,
  digest: (ns: string, v: string) => number,
  hasAccount: boolean,
): Exposure[] {
  const out: Exposure[] = []
  const at = new Map<number, number>()
  for (const rule of m.route.bodyRules) {
    if (rule.accountOnly && !hasAccount) continue
    for (const element of selectJsonPath(body, rule.each)) {
      const value = renderTemplate(rule.subject, m, element)
      if (value === undefined) continue
      let mask = 0
      for (const f of rule.fields) {
        if (f.path === undefined) mask |= FIELD_BIT[f.cls]
        else {
          const v = getPath(element, f.path)
          if (v !== undefined && v !== null && v !== '') mask |= FIELD_BIT[f.cls]
        }
      }
      if (mask === 0) continue
      const subject = digest(rule.subject.namespace, value)
      const prior = at.get(subject)
      if (prior === undefined) {
        at.set(subject, out.length)
        out.push({ subject, fields: mask })
      } else out[prior] = { subject, fields: out[prior]!.fields | mask }
    }
  }
  return out
}

describe('compiled body rules', () => {
  // Element values that hit every branch of rendering and presence: numbers, strings (empty
  // too), booleans, null, nested objects and arrays, missing keys.
  const scalar = fc.oneof(
    fc.integer({ min: 0, max: 40 }),
    fc.constantFrom('', 'a', 'b', 'Zoë', '7'),
    fc.boolean(),
    fc.constant(null),
  )
  const record = fc.record(
    {
      userId: fc.oneof(
        { arbitrary: fc.integer({ min: 0, max: 40 }), weight: 3 },
        { arbitrary: fc.integer({ min: 0, max: 400 }), weight: 3 },
        scalar,
      ),
      nickname: scalar,
      a: fc.oneof(scalar, fc.record({ b: scalar }, { requiredKeys: [] })),
      list: fc.array(scalar, { maxLength: 3 }),
    },
    { requiredKeys: [] },
  )
  const element = fc.oneof(
    { arbitrary: record, weight: 6 },
    scalar,
    fc.array(scalar, { maxLength: 3 }),
  )
  // Up to 80 elements (past the scan limit) from few users: duplicates within and across rules.
  const elements = fc.array(element, { maxLength: 80, size: 'max' })
  const body = fc.oneof(
    {
      arbitrary: fc.record(
        {
          comments: fc.oneof(
            { arbitrary: elements, weight: 4 },
            fc.dictionary(fc.constantFrom('x', 'y', 'z'), element),
          ),
          data: fc.record({ items: elements }, { requiredKeys: [] }),
          profile: element,
          list: elements,
        },
        { requiredKeys: ['comments'] },
      ),
      weight: 6,
    },
    elements,
    scalar,
  )
  const rule = fc.record({
    each: fc.constantFrom(
      '$.comments[*]',
      '$.data.items[*]',
      '$',
      '$.profile',
      '$.list[0]',
      '$[*]',
      '$.list[*].list[*]',
      "$['comments'][*]",
    ),
    subject: fc.constantFrom(
      'user:{.userId}',
      'user:u{.userId}x',
      'user:{.userId}@{itemId}',
      'user:{itemId}-{.userId}',
      'user:{.a.b}',
      'user:{.userId}{.nickname}',
      'user:{itemId}',
      'user:{?page}-{.userId}',
      'user:{.list[0]}',
      'user:{@}',
      'nick:{.nickname}',
    ),
    fields: fc.oneof(
      fc.constant(['id', 'name'] as const),
      fc.dictionary(
        fc.constantFrom('id', 'name', 'phone', 'comment'),
        fc.constantFrom('.userId', '.nickname', '.a.b', '.list[0]', '@', '.missing', '.list[*]'),
        { minKeys: 1 },
      ),
    ),
    when: fc.constantFrom('always', 'account'),
  })

  it('find what interpreting the paths and templates per element finds, in the same order', () => {
    let productive = 0
    let long = 0
    fc.assert(
      fc.property(
        fc.array(rule, { minLength: 1, maxLength: 3 }),
        body,
        fc.constantFrom(
          '/api/items/9/comments',
          '/api/items/9/comments?page=2',
          '/api/items/9/comments?page=',
        ),
        fc.boolean(),
        (rules, json, url, hasAccount) => {
          const cat = compileCatalogue([
            { route: 'GET /api/items/:itemId/comments', exposes: rules as RouteSpec['exposes'] },
          ])
          const m = cat.match('GET', url)!
          const compiled = recordingKeyer()
          const interpreted = recordingKeyer()
          const found = bodyExposures(m, json, compiled.digest, hasAccount)
          assert.deepEqual(found, interpretedBodyExposures(m, json, interpreted.digest, hasAccount))
          assert.deepEqual(compiled.seen, interpreted.seen)
          if (found.length > 0) productive++
          if (found.length > 32) long++
        },
      ),
      { numRuns: 500 },
    )
    // The generators must reach the interesting cases, or the property proves little.
    assert.ok(productive > 100, `only ${productive} of 500 bodies disclosed records`)
    assert.ok(long > 2, `only ${long} of 500 bodies had more than 32 records`)
  })
})

describe('body rules on long pages', () => {
  const catalogue = compileCatalogue(specs)
  it('merge a record listed again after the 32nd, and keep first-seen order', () => {
    const m = catalogue.match('GET', '/api/items/9/comments')!
    const comments: object[] = Array.from({ length: 60 }, (_, i) => ({
      userId: i % 45,
      nickname: `n${i}`,
    }))
    comments.push({ userId: 3, text: 'late' })
    const k = recordingKeyer()
    const found = bodyExposures(m, { comments }, k.digest, false)
    assert.equal(found.length, 45)
    assert.deepEqual(
      found.map((e) => e.subject),
      Array.from({ length: 45 }, (_, i) => i + 1),
    )
    assert.deepEqual(fieldClasses(found[3]!.fields), ['id', 'name', 'comment'])
    assert.deepEqual(fieldClasses(found[40]!.fields), ['id', 'name'])
    assert.equal(k.seen.length, 61)
  })
})

describe('catalogue validation', () => {
  it('accepts the example catalogue', () => {
    for (const s of specs) assert.deepEqual(validateRouteSpec(s), [])
  })

  it('names the path of every problem in a route', () => {
    const issues = validateRouteSpec({
      route: 'GET /api/users/:id',
      ordinal: 'userId',
      exposes: [
        { subject: 'user:{userId}', fields: ['id', 'bogus' as 'id'] },
        { subject: '{x}:y', fields: ['id'] },
        { subject: 'user:{.id}', fields: { id: '.id' } },
        { subject: 'user:{id}', fields: ['id'], each: 'comments', count: 0 },
      ],
    })
    const paths = issues.map((i) => i.path.join('.'))
    assert.deepEqual(paths, [
      'ordinal',
      'exposes.0.subject',
      'exposes.0.fields.1',
      'exposes.1.subject',
      'exposes.2.subject',
      'exposes.2.fields',
      'exposes.3.each',
      'exposes.3.count',
      'exposes.3.count',
    ])
  })

  it('rejects malformed route lines', () => {
    for (const route of [
      'GET',
      '/x',
      'GET x',
      'GET /a/*/b',
      'GET /a/:b/:b',
      'GET /a:b',
      'get? /x',
    ]) {
      assert.equal(validateRouteSpec({ route }).length, 1, route)
    }
  })

  it('refuses to compile an invalid or duplicated catalogue with HG_ROUTE_INVALID', () => {
    assert.throws(
      () => compileCatalogue([{ route: 'GET /a/:x' }, { route: 'get /A/:y/' }]),
      (e: unknown) => e instanceof HarvestGuardError && e.code === 'HG_ROUTE_INVALID',
    )
    assert.throws(() => compileCatalogue([{ route: 'nope' }]), HarvestGuardError)
  })

  it('parses templates and JSON paths, or says what is wrong', () => {
    const t = parseTemplate('comments:{itemId}:{?page}')
    assert.ok(typeof t !== 'string')
    assert.equal(t.namespace, 'comments')
    assert.deepEqual(
      t.parts.map((p) => p.kind),
      ['param', 'text', 'query'],
    )
    for (const bad of ['nocolon', ':x', 'a:{', 'a:}', 'a:{b c}', 'a:']) {
      assert.equal(typeof parseTemplate(bad), 'string', bad)
    }
    const p = parseJsonPath("$.a['b c'][0][*]")
    assert.ok(typeof p !== 'string')
    assert.deepEqual(selectJsonPath({ a: { 'b c': [[1, 2], [3]] } }, p), [1, 2])
    for (const bad of ['a', '$.', '$[x]', '$[1', '$..a']) {
      assert.equal(typeof parseJsonPath(bad), 'string', bad)
    }
    assert.equal(typeof parseJsonPath('$.x', true), 'string')
  })

  it('never throws on arbitrary specs, templates or JSON paths: problems come back as text', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.string(),
        fc.string(),
        (route, subject, each, path) => {
          const t = parseTemplate(subject)
          assert.ok(typeof t === 'string' || t.namespace.length > 0)
          parseJsonPath(each)
          parseJsonPath(path, true)
          const spec: RouteSpec = {
            route,
            exposes: [{ subject, each, fields: { id: path }, count: 1, key: subject }],
          }
          const issues = validateRouteSpec(spec)
          if (issues.length === 0) compileCatalogue([spec])
          else assert.throws(() => compileCatalogue([spec]), HarvestGuardError)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('reads the first value of a query parameter', () => {
    assert.equal(queryParam('a=1&b=2&a=3', 'a'), '1')
    assert.equal(queryParam('flag&x=%41', 'flag'), '')
    assert.equal(queryParam('x=%41', 'x'), 'A')
    assert.equal(queryParam('', 'x'), undefined)
  })
})
