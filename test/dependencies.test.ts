import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'

describe('docs/dependencies.md', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
    dependencies?: Record<string, string>
    devDependencies?: Record<string, string>
  }
  const declared = [
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.devDependencies ?? {}),
  ]
  const rows = [
    ...readFileSync('docs/dependencies.md', 'utf8').matchAll(/^\| `([^`]+)` \| (.+) \|$/gm),
  ]
  const documented = new Map(rows.map((r) => [r[1]!, r[2]!.trim()]))

  it('justifies every dependency in package.json in one line', () => {
    assert.deepEqual(
      declared.filter((d) => !documented.has(d) || documented.get(d)!.length < 20),
      [],
    )
  })

  it('names no package that package.json does not declare', () => {
    assert.deepEqual(
      [...documented.keys()].filter((d) => !declared.includes(d)),
      [],
    )
  })
})
