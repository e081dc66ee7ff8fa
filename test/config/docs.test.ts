import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { configSchema, defaultConfig } from '../../src/config/index.ts'
import { schemaKeys } from './schema-keys.ts'

/** Rows of docs/configuration.md's key tables: key -> default cell (without backticks). */
function documentedKeys(): Map<string, string> {
  const text = readFileSync('docs/configuration.md', 'utf8')
  const rows = new Map<string, string>()
  for (const m of text.matchAll(
    /^\| `([^`]+)` \|(?:[^|\\]|\\.)*\| ((?:[^|\\]|\\.)*) \|(.*)\|$/gm,
  )) {
    rows.set(m[1]!, m[2]!.trim().replace(/^`|`$/g, ''))
  }
  return rows
}

describe('docs/configuration.md', () => {
  const keys = schemaKeys(configSchema)
  const docs = documentedKeys()

  it('lists every key of the schema', () => {
    assert.ok(keys.length > 50, 'the schema walk found too few keys')
    const missing = keys.filter((k) => !docs.has(k.path)).map((k) => k.path)
    assert.deepEqual(missing, [], 'keys without a row in docs/configuration.md')
  })

  it('lists no key the schema does not have', () => {
    const known = new Set(keys.map((k) => k.path))
    assert.deepEqual(
      [...docs.keys()].filter((k) => !known.has(k)),
      [],
    )
  })

  it('states each default as the schema has it', () => {
    const wrong: string[] = []
    for (const k of keys) {
      const expected =
        k.default === undefined
          ? ''
          : k.default.startsWith('"')
            ? (JSON.parse(k.default) as string)
            : k.default
      const got = docs.get(k.path)
      if (got !== undefined && got !== expected)
        wrong.push(`${k.path}: docs say ${got || '(none)'}, schema ${expected || '(none)'}`)
    }
    assert.deepEqual(wrong, [])
  })

  it('states the default budgets as the policy has them', () => {
    const policy = defaultConfig({ env: { HARVESTGUARD_SECRET: 'docs-test-secret-0123' } }).policy
    const windows = policy.windows.map((w) => w.name)
    const text = readFileSync('docs/configuration.md', 'utf8')
    assert.ok(
      text.includes(`| class | ${windows.join(' | ')} |`),
      `header | class | ${windows.join(' | ')} |`,
    )
    for (const [kind, cls] of Object.entries(policy.classes)) {
      const budgets = (cls as { budgets: Record<string, number> }).budgets
      const row = `| ${kind} | ${windows.map((w) => budgets[w]).join(' | ')} |`
      assert.ok(text.includes(row), `docs/configuration.md lacks the row ${row}`)
    }
  })
})
