import { fileURLToPath } from 'node:url'
import {
  compileCatalogue,
  createEngine,
  fieldMask,
  type Catalogue,
  type Engine,
  type FieldClass,
  type FieldMask,
  type Keyer,
  type PolicySettings,
  type RouteSpec,
} from '../core/index.ts'
import { loadConfigFile, type Config } from '../config/index.ts'
import { createKeyer } from '../keyer/index.ts'

/** Path of the shop's shipped configuration (route catalogue + policy). */
export const SHOP_CONFIG_PATH = fileURLToPath(
  new URL('../../examples/shop/harvestguard.yaml', import.meta.url),
)

const DEFAULT_PROTECTED: readonly FieldClass[] = [
  'id',
  'phone',
  'name',
  'email',
  'national-id',
  'address',
]

/** What every lab runner needs from the config: catalogue, keyer, protected fields. */
export interface LabSetup {
  readonly config: Config
  readonly catalogue: Catalogue
  readonly keyer: Keyer
  readonly protectedMask: FieldMask
}

/**
 * Loads the shop's config (or another file) and derives the lab's parts from it. The lab's
 * digests are keyed with the config's secret (a fresh random one when none is configured).
 */
export function loadLabSetup(
  file: string = SHOP_CONFIG_PATH,
  env: Readonly<Record<string, string | undefined>> = process.env,
): LabSetup {
  const config = loadConfigFile(file, { env })
  const catalogue = compileCatalogue(config.routes as readonly RouteSpec[])
  const keyer = createKeyer(config.secret)
  const policy = config.policy as { readonly protectedFields?: readonly FieldClass[] }
  return {
    config,
    catalogue,
    keyer,
    protectedMask: fieldMask(policy.protectedFields ?? DEFAULT_PROTECTED),
  }
}

/** Creates the engine with the config's policy (in memory: the lab never persists ledgers). */
export function createLabEngine(setup: LabSetup): Engine {
  return createEngine({ policy: setup.config.policy as PolicySettings })
}
