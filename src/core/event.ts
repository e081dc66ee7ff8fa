import type { Exposure } from './exposure.ts'
import type { Principal } from './principal.ts'

/** What a request fetched: an HTML page, data from an API, a static asset, or anything else. */
export const RESOURCE_KINDS = ['page', 'api', 'asset', 'other'] as const
/** One of {@link RESOURCE_KINDS}. */
export type ResourceKind = (typeof RESOURCE_KINDS)[number]

/**
 * Header anomalies a feeder saw on the request, as bits of {@link Client.anomalies}. Feeders
 * compute them once per request from the raw headers; the engine only counts them.
 */
export const ANOMALY = Object.freeze({
  /** No Accept-Language header (every mainstream browser sends one on navigation). */
  noAcceptLanguage: 1,
  /** The user agent matches a known automation or library pattern (isbot). */
  automationAgent: 2,
  /** Client hints (sec-ch-ua*) contradict the user agent, or a Chromium UA lacks them. */
  clientHintMismatch: 4,
  /** Headers real browsers never send on a GET (Content-Length: 0, Proxy-Connection). */
  foreignHeaders: 8,
  /** No User-Agent header at all. */
  noUserAgent: 16,
} as const)

/** What the engine needs to know about the client, beyond its principals. */
export interface Client {
  /** Client address as the feeder resolved it (trusted proxies applied). */
  readonly ip: string
  /** User-Agent header, '' when absent. */
  readonly userAgent: string
  /** Whether a Referer header was present. */
  readonly referer: boolean
  /** Bit set of {@link ANOMALY} flags. */
  readonly anomalies: number
}

/**
 * One observed request and its response, whatever fed it (middleware, proxy, log line, lab).
 * Feeders build Events; nothing downstream knows where an Event came from.
 */
export interface Event {
  /** Request time in milliseconds since the epoch: the engine's only clock. */
  readonly timeMs: number
  readonly method: string
  /** The matched route pattern from the catalogue, '' when none matched. */
  readonly route: string
  /** Raw path with query string. */
  readonly path: string
  readonly status: number
  /** Response body bytes, 0 when unknown. */
  readonly bytes: number
  readonly resource: ResourceKind
  /**
   * Every identity the request belongs to; at least the `ip:` one. A feeder that reuses one list
   * for every request of an identity (the log reader does) freezes it: the engine then keeps
   * the ledgers it found for that list instead of looking each principal up per event.
   */
  readonly principals: readonly Principal[]
  /** Personal records the response carried in the clear. */
  readonly exposures: readonly Exposure[]
  readonly client: Client
  /**
   * Numeric ID the request named in an enumerable ID space (the `:userId` in
   * `/api/users/:userId`), -1 when none. Transient: the engine keeps only coarse, non-identifying
   * derivatives of it (see the enumeration signal), never the ID.
   */
  readonly ordinal: number
}
