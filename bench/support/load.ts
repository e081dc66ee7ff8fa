// Load from a second process for the HTTP benchmarks: autocannon in its own Node process
// (the server under test keeps this process's core to itself), its JSON summary parsed.
import { spawn } from 'node:child_process'
import { join } from 'node:path'

/** What one autocannon run measured. */
export interface LoadResult {
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Non-2xx responses plus connection errors. */
  readonly non2xx: number
  readonly total: number
}

/** Runs autocannon against `url` with `connections` for `durationS` seconds. */
export function autocannon(
  url: string,
  connections: number,
  durationS: number,
): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const bin = join(import.meta.dirname, '../../node_modules/autocannon/autocannon.js')
    const child = spawn(
      process.execPath,
      [bin, '-j', '-c', String(connections), '-d', String(durationS), url],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    )
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c))
    child.on('error', reject)
    child.on('exit', (code) => {
      try {
        const r = JSON.parse(out) as {
          requests: { average: number; total: number }
          latency: { p50: number; p99: number }
          non2xx: number
          errors: number
        }
        resolve({
          rps: r.requests.average,
          p50Ms: r.latency.p50,
          p99Ms: r.latency.p99,
          non2xx: r.non2xx + r.errors,
          total: r.requests.total,
        })
      } catch (e) {
        reject(new Error(`autocannon exited ${code} without a JSON summary: ${String(e)}`))
      }
    })
  })
}

/** The median of `xs` (the upper one of an even count). */
export const median = (xs: readonly number[]): number =>
  xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)]!
