// Runs every bench/*.bench.ts in sequence with the node that runs this file (the project's
// Node 24 under `npm run bench`) and passes their output through. Benchmarks are discovered by
// name, so adding one needs no edit here. Usage: npm run bench [-- name-filter ...]
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

const dir = import.meta.dirname
const filters = process.argv.slice(2)
const benches = readdirSync(dir)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .toSorted()

if (benches.length === 0) {
  console.error(`no bench/*.bench.ts${filters.length > 0 ? ` matching ${filters.join(', ')}` : ''}`)
  process.exit(1)
}

const failed: string[] = []
for (const name of benches) {
  console.log(`\n# ${name}\n`)
  const started = performance.now()
  const result = spawnSync(process.execPath, [join(dir, name)], { stdio: 'inherit' })
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  if (result.status !== 0) {
    failed.push(name)
    console.error(
      `\n${name} failed (${result.signal ?? `exit ${result.status}`}) after ${seconds} s`,
    )
  } else console.log(`\n(${name}: ${seconds} s)`)
}

if (failed.length > 0) {
  console.error(`\n${failed.length} of ${benches.length} benchmarks failed: ${failed.join(', ')}`)
  process.exit(1)
}
