import { isIP } from 'node:net'
import { HarvestGuardError } from '../core/index.ts'

/**
 * The lab's one safety rule: traffic generators only ever talk to this machine. Every HTTP
 * generator passes its target and source addresses through {@link assertLoopback} before it
 * opens a socket, so a typo cannot turn the harvester simulators on someone else's server.
 */

/** Code of the error raised for a non-loopback target. */
export const LAB_NOT_LOOPBACK = 'HG_LAB_NOT_LOOPBACK'

/** Whether a host name or address is loopback: 127.0.0.0/8, ::1 or `localhost`. */
export function isLoopback(host: string): boolean {
  let h = host.trim().toLowerCase()
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  const kind = isIP(h)
  if (kind === 4) return h.startsWith('127.')
  if (kind === 6) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true
    // IPv4-mapped loopback, ::ffff:127.x.y.z
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)
    return mapped !== null && (mapped[1] as string).startsWith('127.')
  }
  return false
}

/** Throws `HG_LAB_NOT_LOOPBACK` unless `target` (a URL or a host) is loopback. */
export function assertLoopback(target: string): void {
  let host = target
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    try {
      host = new URL(target).hostname
    } catch (cause) {
      throw new HarvestGuardError(
        LAB_NOT_LOOPBACK,
        `lab target ${JSON.stringify(target)} is not a valid URL`,
        { cause },
      )
    }
  }
  if (!isLoopback(host)) {
    throw new HarvestGuardError(
      LAB_NOT_LOOPBACK,
      `lab traffic generators only target loopback (127.0.0.0/8, ::1, localhost); refusing ${JSON.stringify(target)}`,
    )
  }
}
