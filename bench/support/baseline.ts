// The guard built from another checkout's sources (BENCH_BASELINE=DIR) with the bench's config,
// so that a benchmark can serve it beside this checkout's guard in the same rounds.
import { join } from 'node:path'
import type { Config } from '../../src/config/index.ts'
import type { compileCatalogue, createEngine } from '../../src/core/index.ts'
import type { createGuard, Guard } from '../../src/http/index.ts'
import type { createKeyer } from '../../src/keyer/index.ts'

/** A module of DIR's `src/` (typed by the caller: it is this checkout's module, as of DIR). */
export function baselineModule<T>(dir: string, path: string): Promise<T> {
  return import(join(dir, 'src', path)) as Promise<T>
}

/** DIR's guard: its engine, keyer and catalogue compiled from `config`. */
export async function baselineGuard(dir: string, config: Config): Promise<Guard> {
  const [core, keyer, http] = await Promise.all([
    baselineModule<{
      createEngine: typeof createEngine
      compileCatalogue: typeof compileCatalogue
    }>(dir, 'core/index.ts'),
    baselineModule<{ createKeyer: typeof createKeyer }>(dir, 'keyer/index.ts'),
    baselineModule<{ createGuard: typeof createGuard }>(dir, 'http/index.ts'),
  ])
  return http.createGuard({
    engine: core.createEngine({
      policy: config.policy as Parameters<typeof createEngine>[0]['policy'],
    }),
    keyer: keyer.createKeyer(config.secret),
    catalogue: core.compileCatalogue(config.routes as Parameters<typeof compileCatalogue>[0]),
  })
}
