/**
 * Route matching and path exposures on the hot path of every feeder. A realistic catalogue of
 * 60 routes (static, parameter and tail routes), requests drawn from a shop's mix.
 * Baseline: the obvious implementation, one anchored RegExp per route tried in order (what
 * most hand-rolled matchers and `path-to-regexp` loops do). Ours: the compiled trie.
 * Run: npx node bench/catalogue.bench.ts
 */
import { compileCatalogue, pathExposures, type RouteSpec } from '../src/core/index.ts'
import { SipHashKeyer } from '../src/keyer/index.ts'

const specs: RouteSpec[] = []
const resources = ['users', 'items', 'orders', 'shops', 'reviews', 'coupons', 'carts', 'addresses']
for (const r of resources) {
  specs.push({ route: `GET /api/${r}` })
  specs.push({
    route: `GET /api/${r}/:id`,
    ordinal: 'id',
    exposes: [{ subject: `${r}:{id}`, fields: ['id', 'name'] }],
  })
  specs.push({ route: `GET /api/${r}/:id/history` })
  specs.push({ route: `POST /api/${r}/:id` })
  specs.push({
    route: `GET /api/${r}/:id/comments`,
    exposes: [
      {
        each: '$.comments[*]',
        subject: 'user:{.userId}',
        fields: { id: '.userId', comment: '.text' },
        count: 20,
        key: `${r}-comments:{id}:{?page}`,
      },
    ],
  })
  specs.push({ route: `GET /${r}/:slug`, resource: 'page' })
  specs.push({ route: `GET /${r}`, resource: 'page' })
}
specs.push({ route: 'GET /static/*', resource: 'asset' }, { route: 'GET /', resource: 'page' })
for (let i = 0; i < 2; i++) specs.push({ route: `GET /help/topic${i}`, resource: 'page' })

const paths: string[] = []
for (let i = 0; i < 4096; i++) {
  const r = resources[i % resources.length]!
  const kind = i % 10
  if (kind < 4) paths.push(`/api/${r}/${48_000_000 + i}`)
  else if (kind < 6) paths.push(`/static/js/chunk-${i}.js`)
  else if (kind < 7) paths.push(`/api/${r}/${i}/comments?page=${i % 5}`)
  else if (kind < 8) paths.push(`/${r}/item-${i}`)
  else if (kind < 9) paths.push(`/api/${r}?q=x${i}`)
  else paths.push(`/not/in/catalogue/${i}`)
}

const catalogue = compileCatalogue(specs)
// Baseline: one RegExp per route, first match wins (declaration order, tail routes last).
const regexes = specs.map((s) => {
  const [method, pattern] = s.route.split(' ') as [string, string]
  const names: string[] = []
  const source = pattern
    .split('/')
    .filter((x) => x !== '')
    .map((seg) => {
      if (seg === '*') {
        names.push('*')
        return '(?:/(.*))?'
      }
      if (seg.startsWith(':')) {
        names.push(seg.slice(1))
        return '/([^/]+)'
      }
      return `/${seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`
    })
    .join('')
  return { method, re: new RegExp(`^${source || '/'}/?$`, 'i'), names }
})
function regexMatch(method: string, path: string): Record<string, string> | undefined {
  const q = path.indexOf('?')
  const p = q < 0 ? path : path.slice(0, q)
  for (const r of regexes) {
    if (r.method !== method) continue
    const m = r.re.exec(p)
    if (m === null) continue
    const params: Record<string, string> = {}
    r.names.forEach((n, i) => (params[n] = m[i + 1] ?? ''))
    return params
  }
  return undefined
}

let sink = 0
function measure(fn: (path: string) => void, rounds = 5, targetMs = 150): number {
  for (let r = 0; r < 3; r++) for (const p of paths) fn(p)
  let best = 0
  for (let r = 0; r < rounds; r++) {
    let ops = 0
    const start = performance.now()
    let elapsed = 0
    while (elapsed < targetMs) {
      for (const p of paths) fn(p)
      ops += paths.length
      elapsed = performance.now() - start
    }
    best = Math.max(best, (ops / elapsed) * 1000)
  }
  return best
}

// Both must agree before either is timed.
for (const p of paths) {
  const a = catalogue.match('GET', p)?.params
  const b = regexMatch('GET', p)
  if (JSON.stringify(a) !== JSON.stringify(b))
    throw new Error(`disagree on ${p}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`)
}

const keyer = new SipHashKeyer('bench-secret-0123456789abcdef')
const trie = measure((p) => {
  if (catalogue.match('GET', p) !== undefined) sink++
})
const regex = measure((p) => {
  if (regexMatch('GET', p) !== undefined) sink++
})
const withExposures = measure((p) => {
  const m = catalogue.match('GET', p)
  if (m !== undefined) sink += pathExposures(m, keyer, false).length
})
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
console.log(
  `## catalogue (node ${process.version}, ${specs.length} routes, requests/s, best of 5)\n`,
)
console.log('| operation | requests/s | ratio vs regex list |')
console.log('|---|---:|---:|')
console.log(`| RegExp per route, first match (baseline) | ${fmt(regex)} | 1.00x |`)
console.log(`| compiled trie: match | ${fmt(trie)} | ${(trie / regex).toFixed(2)}x |`)
console.log(
  `| compiled trie: match + pathExposures (SipHash) | ${fmt(withExposures)} | ${(withExposures / regex).toFixed(2)}x |`,
)
if (sink === -1) console.log(sink)
