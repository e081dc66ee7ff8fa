/**
 * Helpers for integration suites that need a real service on loopback (PostgreSQL, Redis).
 * Locally a missing service skips the suite with a stated reason; under `CI=true` it fails,
 * because a green CI run that silently skipped the integration tests proves nothing.
 */
import { connect } from 'node:net'
import { spawnSync } from 'node:child_process'
import { Redis } from 'ioredis'

/** Whether a TCP listener answers on host:port within `timeoutMs`. */
export function isReachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** Whether an executable is on PATH. */
export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0
}

/**
 * What to pass as `skip` to `describe`/`it`: `false` when the service is there, a reason string
 * when it is missing locally. Under CI=true a missing service throws, failing the suite.
 */
export async function requireService(
  name: string,
  host: string,
  port: number,
): Promise<false | string> {
  if (await isReachable(host, port)) return false
  const reason = `${name} is not reachable on ${host}:${port}`
  if (process.env['CI'] === 'true')
    throw new Error(`${reason} (CI=true: integration suites must run)`)
  return `${reason}; start it (bash .ci/services) to run this suite`
}

/** Same as {@link requireService} for an executable the suite starts itself. */
export function requireCommand(name: string): false | string {
  if (hasCommand(name)) return false
  const reason = `${name} is not installed`
  if (process.env['CI'] === 'true')
    throw new Error(`${reason} (CI=true: integration suites must run)`)
  return `${reason}; install it to run this suite`
}

/** PostgreSQL the suites use: the machine's, trust auth. */
export const POSTGRES_URL =
  process.env['HG_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test'
/** Redis the suites use: the machine's. */
export const REDIS_HOST = '127.0.0.1'
export const REDIS_PORT = Number(process.env['HG_TEST_REDIS_PORT'] ?? 6379)

/**
 * Deletes a test's keys (`prefix*`) from the machine's Redis, with `client` if given (left
 * connected), else with a connection of its own.
 */
export async function deleteRedisKeys(prefix: string, client?: Redis): Promise<void> {
  const redis = client ?? new Redis({ host: REDIS_HOST, port: REDIS_PORT })
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
  if (client === undefined) redis.disconnect()
}
