/**
 * One reusable Event for the streaming analysis: the log reader overwrites it for every line and
 * hands it to the engine and the report synchronously, so a 10-million-line log allocates no
 * Event per line (batches of fresh Events lived long enough to be promoted to V8's old space,
 * which then grew as garbage: that was most of analyze's peak memory). Nothing downstream keeps
 * an Event (the engine keeps derived counters, decisions and the journal hold no Event).
 *
 * The path is decoded from the line's bytes only when read: the engine never reads it.
 */
import type { Client, Event, ResourceKind } from '../core/index.ts'
import type { Exposure } from '../core/index.ts'
import type { Principal } from '../core/index.ts'
import { latin1 } from './event-builder.ts'

const NONE: readonly Exposure[] = Object.freeze([])
const NO_CLIENT: Client = Object.freeze({ ip: '', userAgent: '', referer: false, anomalies: 0 })
const EMPTY = new Uint8Array(0)

/** A mutable Event valid until the next line overwrites it. */
export class ScratchEvent implements Event {
  timeMs = 0
  method = ''
  route = ''
  status = 0
  bytes = 0
  resource: ResourceKind = 'page'
  principals: readonly Principal[] = []
  exposures: readonly Exposure[] = NONE
  client: Client = NO_CLIENT
  ordinal = -1
  #path: string | undefined = undefined
  #buf: Uint8Array = EMPTY
  #start = 0
  #end = 0

  /** The request target, decoded on first read. */
  get path(): string {
    if (this.#path === undefined) this.#path = latin1(this.#buf, this.#start, this.#end)
    return this.#path
  }

  /** Sets the path: a decoded string, or the bytes `buf[start, end)` to decode if read. */
  setPath(path: string | undefined, buf: Uint8Array, start: number, end: number): void {
    this.#path = path
    this.#buf = buf
    this.#start = start
    this.#end = end
  }

  /** A plain copy that outlives the next line (tests, and consumers that keep Events). */
  toEvent(): Event {
    return {
      timeMs: this.timeMs,
      method: this.method,
      route: this.route,
      path: this.path,
      status: this.status,
      bytes: this.bytes,
      resource: this.resource,
      principals: this.principals,
      exposures: this.exposures,
      client: this.client,
      ordinal: this.ordinal,
    }
  }
}
