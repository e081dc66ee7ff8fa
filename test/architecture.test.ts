// Fails when an import points the wrong way: core must stay pure, parts meet only through
// their index.ts, nothing depends on the CLI, and parts form no cycle.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'

const root = resolve(import.meta.dirname, '..')
const src = join(root, 'src')

interface Import {
  readonly file: string
  readonly line: number
  readonly spec: string
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory()
      ? sourceFiles(join(dir, d.name))
      : d.name.endsWith('.ts')
        ? [join(dir, d.name)]
        : [],
  )
}

const importPattern =
  /(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8')
  const found: Import[] = []
  for (const m of text.matchAll(importPattern)) {
    const spec = m[1] ?? m[2] ?? m[3]
    if (spec === undefined) continue
    const line = text.slice(0, m.index).split('\n').length
    found.push({ file: relative(root, file), line, spec })
  }
  return found
}

/** The top-level part of a file under src/ (`core`, `http`, …); '' for src/index.ts. */
function partOf(absolute: string): string {
  const rel = relative(src, absolute)
  return rel.includes(sep) ? rel.slice(0, rel.indexOf(sep)) : ''
}

const files = sourceFiles(src)
const edges = new Map<string, Set<string>>()

describe('architecture', () => {
  it('keeps src/core pure: no Node built-ins, no packages, nothing outside core', () => {
    const bad: string[] = []
    for (const file of files.filter((f) => partOf(f) === 'core')) {
      for (const imp of importsOf(file)) {
        if (!imp.spec.startsWith('.')) {
          bad.push(`${imp.file}:${imp.line} imports ${imp.spec}`)
          continue
        }
        const target = resolve(dirname(file), imp.spec)
        if (partOf(target) !== 'core') bad.push(`${imp.file}:${imp.line} imports ${imp.spec}`)
      }
    }
    assert.deepEqual(bad, [])
  })

  it('lets parts meet only through index.ts, and nothing import the CLI', () => {
    const bad: string[] = []
    for (const file of files) {
      const from = partOf(file)
      for (const imp of importsOf(file)) {
        if (!imp.spec.startsWith('.')) continue
        const target = resolve(dirname(file), imp.spec)
        const to = partOf(target)
        if (to === from || from === '') continue
        if (to === 'cli') bad.push(`${imp.file}:${imp.line} imports the CLI (${imp.spec})`)
        if (target !== join(src, to, 'index.ts')) {
          bad.push(
            `${imp.file}:${imp.line} reaches inside ${to}/ (${imp.spec}); import ${to}/index.ts`,
          )
        }
        if (!edges.has(from)) edges.set(from, new Set())
        edges.get(from)?.add(to)
      }
    }
    assert.deepEqual(bad, [])
  })

  it('has no cycle between parts', () => {
    const cycles: string[] = []
    const visiting: string[] = []
    const done = new Set<string>()
    const visit = (part: string): void => {
      if (done.has(part)) return
      const at = visiting.indexOf(part)
      if (at !== -1) {
        cycles.push([...visiting.slice(at), part].join(' -> '))
        return
      }
      visiting.push(part)
      for (const next of edges.get(part) ?? []) visit(next)
      visiting.pop()
      done.add(part)
    }
    for (const part of edges.keys()) visit(part)
    assert.deepEqual(cycles, [])
  })

  it('detects a wrong-way import in a sample (the checker itself works)', () => {
    const sample = "import { x } from '../http/client.ts'\nexport { y } from 'node:fs'\n"
    const specs = [...sample.matchAll(importPattern)].map((m) => m[1] ?? m[2] ?? m[3])
    assert.deepEqual(specs, ['../http/client.ts', 'node:fs'])
  })
})
