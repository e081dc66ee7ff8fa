import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import ts from 'typescript'
import {
  ConfigError,
  HarvestGuardError,
  ParseError,
  formatConfigIssue,
  formatIssuePath,
  isHarvestGuardError,
} from '../../src/core/errors.ts'

/** Every string literal in src that is an error code (`'HG_…'`), comments excluded. */
function codesInSource(): Map<string, string> {
  const found = new Map<string, string>()
  const files = readdirSync('src', { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.ts'),
  )
  for (const file of files) {
    const text = readFileSync(join('src', file), 'utf8')
    // A full parse, not a token scan: a quote inside a regex literal would derail a scanner.
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false)
    const visit = (node: ts.Node): void => {
      if (
        (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) &&
        /^HG_[A-Z0-9_]+$/.test(node.text)
      )
        found.set(node.text, file)
      ts.forEachChild(node, visit)
    }
    visit(source)
  }
  return found
}

/** Codes with a row in docs/errors.md (`| \`HG_…\` | … | … |`). */
function codesInDocs(): Set<string> {
  const text = readFileSync('docs/errors.md', 'utf8')
  const rows = [...text.matchAll(/^\| `(HG_[A-Z0-9_]+)` \|([^|]+)\|([^|]+)\|\s*$/gm)]
  for (const r of rows) {
    assert.ok(r[2]!.trim().length > 10 && r[3]!.trim().length > 5, `row ${r[1]} is incomplete`)
  }
  return new Set(rows.map((r) => r[1]!))
}

describe('error codes', () => {
  it('documents every code used in src, and documents no code src does not use', () => {
    const used = codesInSource()
    const documented = codesInDocs()
    const missing = [...used.keys()]
      .filter((c) => !documented.has(c))
      .map((c) => `${c} (${used.get(c)})`)
    const stale = [...documented].filter((c) => !used.has(c))
    assert.deepEqual(missing, [], 'codes used in src without a row in docs/errors.md')
    assert.deepEqual(stale, [], 'rows in docs/errors.md for codes src no longer uses')
  })

  it('finds codes in string literals only, not in comments', () => {
    // errors.ts mentions `HG_UPPER_SNAKE` in a comment; it is not a code.
    assert.ok(!codesInSource().has('HG_UPPER_SNAKE'))
    assert.ok(codesInSource().has('HG_CONFIG_INVALID'))
  })
})

describe('HarvestGuardError', () => {
  it('carries a stable code, a message and a cause', () => {
    const cause = new Error('disk full')
    const e = new HarvestGuardError('HG_X', 'could not write', { cause })
    assert.ok(e instanceof Error)
    assert.equal(e.code, 'HG_X')
    assert.equal(e.name, 'HarvestGuardError')
    assert.equal(e.cause, cause)
    assert.ok(isHarvestGuardError(e, 'HG_X'))
    assert.ok(!isHarvestGuardError(e, 'HG_Y'))
    assert.ok(!isHarvestGuardError(new Error('x')))
  })
})

describe('ConfigError', () => {
  const issues = [
    {
      code: 'HG_CONFIG_TYPE',
      file: 'harvestguard.yaml',
      line: 12,
      column: 5,
      path: 'policy.budgets.account.records',
      message: 'expected a positive integer, got "lots"',
    },
    {
      code: 'HG_CONFIG_YAML',
      file: 'harvestguard.yaml',
      line: 0,
      column: 0,
      path: '',
      message: 'too many aliases',
    },
  ]

  it('lists every issue in compiler style', () => {
    const e = new ConfigError(issues)
    assert.equal(e.code, 'HG_CONFIG_INVALID')
    assert.ok(e instanceof HarvestGuardError)
    assert.equal(
      e.message,
      'invalid configuration (2 issues):\n' +
        'harvestguard.yaml:12:5 policy.budgets.account.records: expected a positive integer, got "lots"\n' +
        'harvestguard.yaml too many aliases',
    )
    assert.ok(Object.isFrozen(e.issues))
  })

  it('formats one issue and issue paths', () => {
    assert.equal(
      formatConfigIssue(issues[0]!),
      'harvestguard.yaml:12:5 policy.budgets.account.records: expected a positive integer, got "lots"',
    )
    assert.equal(
      formatIssuePath(['routes', 2, 'exposes', 0, 'subject']),
      'routes[2].exposes[0].subject',
    )
    assert.equal(formatIssuePath(['budgets', '24h', 'a b', '7']), 'budgets.24h["a b"]["7"]')
    assert.equal(formatIssuePath([]), '')
  })
})

describe('ParseError', () => {
  it('names the file and line', () => {
    const e = new ParseError('access.log', 42, 'unterminated quoted field')
    assert.equal(e.message, 'access.log:42 unterminated quoted field')
    assert.equal(e.code, 'HG_PARSE_FAILED')
    assert.equal(e.file, 'access.log')
    assert.equal(e.line, 42)
    assert.equal(
      new ParseError('x.gz', 0, 'truncated', { code: 'HG_LOG_GZIP_TRUNCATED' }).code,
      'HG_LOG_GZIP_TRUNCATED',
    )
  })
})
