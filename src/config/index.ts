/**
 * Configuration: the YAML file, its zod schema with every default, positioned errors, secrets.
 * @example
 * import { loadConfigFile } from './config/index.ts'
 * const config = loadConfigFile('harvestguard.yaml') // throws ConfigError listing every issue
 */
export {
  CONFIG_MISSING,
  CONFIG_SECRET,
  CONFIG_TYPE,
  CONFIG_UNKNOWN_KEY,
  CONFIG_UNREADABLE,
  CONFIG_VALUE,
  CONFIG_YAML,
  SECRET_ENV,
  deepFreeze,
  defaultConfig,
  loadConfigFile,
  parseConfig,
  type Config,
  type ParseConfigOptions,
} from './load.ts'
export { durationSchema, formatDuration, parseDuration } from './duration.ts'
export { MIN_SECRET_LENGTH, Secret, secretRefSchema, type SecretRef } from './secret.ts'
export {
  FORWARDED_HEADER_NAMES,
  JOURNAL_KINDS,
  STORE_ERROR_MODES,
  STORE_KINDS,
  configSchema,
  isCidr,
  parseListen,
  type AccountSettings,
  type ConfigData,
} from './schema.ts'
