import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { stringify } from 'yaml'
import {
  defaultConfig,
  formatDuration,
  loadConfigFile,
  parseConfig,
  parseDuration,
  parseListen,
  isCidr,
} from '../../src/config/index.ts'
import { ConfigError, HarvestGuardError } from '../../src/core/errors.ts'
import { compileCatalogue } from '../../src/core/catalogue.ts'

const SECRET = 'a-test-secret-of-sufficient-length'
const env = { HARVESTGUARD_SECRET: SECRET }

function issuesOf(text: string): string[] {
  try {
    parseConfig(text, 'harvestguard.yaml', { env })
  } catch (e) {
    assert.ok(e instanceof ConfigError)
    return e.message.split('\n').slice(1)
  }
  assert.fail('expected a ConfigError')
}

describe('parseConfig', () => {
  it('reports an issue in compiler style with file:line:column and path', () => {
    const text = ['store:', '  kind: memory', '  maxPrincipals: lots', ''].join('\n')
    assert.deepEqual(issuesOf(text), [
      'harvestguard.yaml:3:18 store.maxPrincipals: expected a positive integer, got "lots"',
    ])
  })

  it('reports every issue at once, in file order', () => {
    const lines = issuesOf('onStoreError: maybe\nstore:\n  maxPrincipals: 0\n  kid: redis\n')
    assert.equal(lines.length, 3)
    assert.match(lines[0]!, /^harvestguard\.yaml:1:15 onStoreError: expected one of allow, block/)
    assert.match(lines[1]!, /^harvestguard\.yaml:3:18 store\.maxPrincipals: /)
    assert.match(lines[2]!, /^harvestguard\.yaml:4:3 store\.kid: unknown key/)
  })

  it('suggests the key a misspelt one was meant to be', () => {
    const lines = issuesOf('store:\n  snapshotPth: x\npolcy: {}\nhttp: { zzzzzz: 1 }\n')
    assert.deepEqual(lines, [
      'harvestguard.yaml:2:3 store.snapshotPth: unknown key (did you mean snapshotPath?)',
      'harvestguard.yaml:3:1 polcy: unknown key (did you mean policy?)',
      'harvestguard.yaml:4:9 http.zzzzzz: unknown key',
    ])
  })

  it('reports a missing key whose value may take several forms as missing', () => {
    const [line] = issuesOf(
      "routes:\n  - route: GET /a/:b\n    exposes:\n      - subject: 'x:{b}'\n",
    )
    assert.match(
      line!,
      /routes\[0\]\.exposes\[0\]\.fields: required key is missing \(expected a list/,
    )
  })

  it('points a missing key at the mapping it belongs in', () => {
    const [line] = issuesOf('routes:\n  - resource: api\n')
    assert.match(line!, /^harvestguard\.yaml:2:5 routes\[0\]\.route: required key is missing/)
  })

  it('follows YAML anchors and aliases to the offending value', () => {
    const lines = issuesOf('x-defaults: &d\n  maxPrincipals: lots\nstore: *d\n')
    assert.ok(lines.some((l) => l.includes('store.maxPrincipals') && l.includes(':2:18 ')))
  })

  it('refuses an alias bomb instead of expanding it', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
    for (let i = 0; i < 8; i++) {
      const prev = String.fromCharCode(97 + i)
      const next = String.fromCharCode(98 + i)
      bomb.push(
        `${next}: &${next} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`,
      )
    }
    assert.throws(() => parseConfig(bomb.join('\n'), 'bomb.yaml', { env }), ConfigError)
  })

  it('keeps YAML to plain data: explicit tags do not smuggle in Buffers or Sets', () => {
    assert.deepEqual(issuesOf('store: !!binary aGVsbG8=\n'), [
      'harvestguard.yaml:1:17 store: expected a mapping, got "aGVsbG8="',
    ])
    assert.deepEqual(issuesOf('store: !!set { kind }\n'), [
      'harvestguard.yaml:1:16 store.kind: expected one of memory, redis, got null',
    ])
  })

  it('reports pathological nesting as a ConfigError, not a crash', () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`
    assert.throws(() => parseConfig(deep, 'deep.yaml', { env }), ConfigError)
    assert.throws(() => parseConfig(`routes: ${deep}`, 'deep.yaml', { env }), ConfigError)
  })

  it('parses durations once into milliseconds', () => {
    const config = parseConfig(
      'store:\n  snapshotInterval: 1h30m\njournal: { flushInterval: 250ms }\n',
      'f.yaml',
      {
        env,
      },
    )
    assert.equal(config.store.snapshotIntervalMs, 5_400_000)
    assert.equal(config.journal.flushIntervalMs, 250)
    assert.equal(config.store.redis.syncIntervalMs, 1000)
  })

  it('produces routes the catalogue compiles', () => {
    const config = loadConfigFile('test/fixtures/config/good/catalogue.yaml', {
      env: { HG_TEST_SECRET: SECRET },
    })
    const catalogue = compileCatalogue(config.routes)
    assert.equal(catalogue.match('GET', '/api/users/7')?.ordinal, 7)
    assert.equal(catalogue.match('GET', '/static/a.css')?.route.resource, 'asset')
  })

  it('deep-freezes the result', () => {
    const config = parseConfig('http: { trustedProxies: [10.0.0.0/8] }', 'f.yaml', { env })
    assert.ok(Object.isFrozen(config.http.trustedProxies))
    assert.throws(() => (config.http.trustedProxies as string[]).push('1.2.3.4'), TypeError)
  })
})

describe('secrets', () => {
  it('never prints the secret, whatever prints the config', () => {
    const config = parseConfig('secret: { env: MY_SECRET }', 'f.yaml', {
      env: { MY_SECRET: SECRET },
    })
    assert.equal(config.secret.reveal(), SECRET)
    assert.equal(config.secret.source, 'env:MY_SECRET')
    for (const printed of [
      JSON.stringify(config),
      inspect(config, { depth: 9 }),
      `${config.secret}`,
    ]) {
      assert.ok(!printed.includes(SECRET), printed)
    }
  })

  it('does not echo a rejected secret into the error message', () => {
    const [line] = issuesOf('secret: hunter2\n')
    assert.ok(!line!.includes('hunter2'), line)
  })

  it('reads a secret from a file, trimmed', () => {
    const config = parseConfig('secret: { file: test/fixtures/config/secret.txt }', 'f.yaml', {
      env: {},
    })
    assert.equal(config.secret.reveal(), 'fixture-secret-0123456789abcdef')
  })

  it('warns about a secret written inline in the file', () => {
    const config = parseConfig(`secret: ${SECRET}`, 'f.yaml', { env: {} })
    assert.equal(config.secret.source, 'inline')
    assert.ok(config.warnings.some((w) => w.includes('secret is written in the file')))
  })
})

describe('zero configuration', () => {
  it('works with no file, generating a per-process secret with a warning', () => {
    const a = defaultConfig({ env: {} })
    const b = defaultConfig({ env: {} })
    assert.equal(a.secret.source, 'generated')
    assert.notEqual(a.secret.reveal(), b.secret.reveal())
    assert.ok(a.warnings.some((w) => w.includes('no secret configured')))
    assert.equal(a.store.kind, 'memory')
    assert.equal(a.journal.kind, 'sqlite')
    assert.equal(a.journal.path, './harvestguard.db')
    assert.equal(parseListen(a.server.listen)?.host, '127.0.0.1')
    assert.equal(a.onStoreError, 'allow')
    assert.deepEqual(a.routes, [])
  })

  it('takes the secret from HARVESTGUARD_SECRET when the file names none', () => {
    const config = defaultConfig({ env })
    assert.equal(config.secret.reveal(), SECRET)
    assert.deepEqual(config.warnings, [])
  })

  it('refuses a HARVESTGUARD_SECRET that is too short', () => {
    assert.throws(() => defaultConfig({ env: { HARVESTGUARD_SECRET: 'short' } }), ConfigError)
  })
})

describe('loadConfigFile', () => {
  it('says which file it cannot read', () => {
    assert.throws(
      () => loadConfigFile('test/fixtures/config/missing.yaml'),
      (e: unknown) =>
        e instanceof HarvestGuardError &&
        e.code === 'HG_CONFIG_UNREADABLE' &&
        e.message.includes('test/fixtures/config/missing.yaml'),
    )
  })
})

const onlyConfigError = (text: string): void => {
  try {
    parseConfig(text, 'fuzz.yaml', { env })
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    for (const issue of e.issues) assert.ok(issue.code.startsWith('HG_CONFIG_'))
  }
}

describe('config parsing never crashes', () => {
  it('accepts or rejects arbitrary text with a ConfigError only', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), onlyConfigError), { numRuns: 500 })
  })

  it('accepts or rejects arbitrary YAML structures with a ConfigError only', () => {
    const keys = fc.constantFrom(
      'secret',
      'routes',
      'policy',
      'http',
      'store',
      'journal',
      'server',
      'onStoreError',
      'kind',
      'route',
      'exposes',
      'subject',
      'fields',
      'each',
      'count',
      'key',
      'listen',
      'trustedProxies',
      'redis',
      'postgres',
      'url',
      'env',
      'file',
      'when',
      'ordinal',
    )
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 1 }),
        fc.constantFrom(
          'GET /a/:b',
          'user:{b}',
          '1s',
          '$.x[*]',
          '10.0.0.0/8',
          'memory',
          'postgres',
        ),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(keys, tie('node'), { maxKeys: 5 }),
      ),
    })).node
    const doc = fc.dictionary(keys, value, { maxKeys: 8 })
    fc.assert(
      fc.property(doc, (d) => onlyConfigError(stringify(d))),
      { numRuns: 500 },
    )
  })
})

describe('durations, CIDRs, listen addresses', () => {
  it('round-trips durations', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 ** 12 }), (ms) => {
        assert.equal(parseDuration(formatDuration(ms)), ms)
      }),
    )
    assert.equal(parseDuration('24h'), 86_400_000)
    for (const bad of ['', '24', 'h', '1x', '-1s', '1 h'])
      assert.equal(parseDuration(bad), undefined, bad)
  })

  it('tells CIDRs from other text', () => {
    for (const ok of ['10.0.0.0/8', '192.0.2.1', '::1', '2001:db8::/32', '0.0.0.0/0'])
      assert.ok(isCidr(ok), ok)
    for (const bad of ['10.0.0.0/33', '10.0.0/8', 'x', '::1/129', '10.0.0.0/', '10.0.0.0/a'])
      assert.ok(!isCidr(bad), bad)
  })

  it('parses listen addresses', () => {
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 })
    assert.deepEqual(parseListen('0.0.0.0:8080'), { host: '0.0.0.0', port: 8080 })
    for (const bad of ['localhost', ':80', '1.2.3.4:70000', '[::1]'])
      assert.equal(parseListen(bad), undefined, bad)
  })
})
