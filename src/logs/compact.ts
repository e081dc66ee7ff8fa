/**
 * Compact event batches for the two-thread reader: a worker reads and parses, the main thread
 * judges. Events cross the thread boundary as columns in transferable typed arrays plus
 * dictionary deltas (a client, a route or an exposure list is sent once, then named by number),
 * so the main thread rebuilds each Event from a few array reads and shared objects.
 */
import type { Client, Event, ResourceKind } from '../core/index.ts'
import type { Exposure } from '../core/index.ts'
import type { Principal } from '../core/index.ts'
import { latin1, type ResolvedLine } from './event-builder.ts'
import type { ParsedLine } from './parsed-line.ts'
import type { ScratchEvent } from './scratch-event.ts'

/** A client (with its principals) first seen in this batch. */
export interface ClientDelta {
  readonly id: number
  readonly client: Client
  readonly principals: readonly Principal[]
}

/** Route facts of a path kind first seen in this batch. */
export interface RouteDelta {
  readonly id: number
  readonly method: string
  readonly route: string
  readonly resource: ResourceKind
}

/**
 * Exposure lists first seen in a batch, packed: list k has id `ids[k]` and its records are
 * `subjects/fields[offsets[k] .. offsets[k + 1])`. One pair of buffers per batch, because
 * transferring thousands of tiny buffers costs more than copying them.
 */
export interface ExposureDeltas {
  readonly ids: Int32Array
  readonly offsets: Uint32Array
  readonly subjects: Float64Array
  readonly fields: Int32Array
}

/** One batch as posted by the worker. */
export interface CompactBatch {
  readonly n: number
  /** Forget every route and exposure id before applying this batch's deltas. */
  readonly reset: boolean
  readonly time: Float64Array
  readonly status: Uint16Array
  readonly bytes: Float64Array
  readonly clientId: Int32Array
  readonly routeId: Int32Array
  readonly ordinal: Float64Array
  readonly exposureId: Int32Array
  readonly pathStart: Uint32Array
  readonly pathBytes: Uint8Array
  readonly clients: readonly ClientDelta[]
  readonly routes: readonly RouteDelta[]
  readonly exposures: ExposureDeltas
}

/** Buffers of a batch, for `postMessage`'s transfer list. */
export function transferList(b: CompactBatch): ArrayBuffer[] {
  return [
    b.time.buffer,
    b.status.buffer,
    b.bytes.buffer,
    b.clientId.buffer,
    b.routeId.buffer,
    b.ordinal.buffer,
    b.exposureId.buffer,
    b.pathStart.buffer,
    b.pathBytes.buffer,
    b.exposures.ids.buffer,
    b.exposures.offsets.buffer,
    b.exposures.subjects.buffer,
    b.exposures.fields.buffer,
  ] as ArrayBuffer[]
}

/** A copy of `a` with room for `n` elements. */
function grow<T extends Float64Array | Int32Array | Uint16Array | Uint32Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n)
  b.set(a)
  return b
}

/**
 * Ids are bounded: past this many routes or exposure lists, both tables start over. Exposure
 * lists repeat only while a path is hot (an item page, a comments page being read): a small
 * table keeps those and lets the rest (one list per profile an ID walk fetched) die young on
 * both threads instead of piling up in the old generation.
 */
const MAX_IDS = 4096

/** Worker side: appends resolved lines to columns and names shared objects by id. */
export class CompactEncoder {
  #capacity: number
  #n = 0
  #time!: Float64Array
  #status!: Uint16Array
  #bytes!: Float64Array
  #clientId!: Int32Array
  #routeId!: Int32Array
  #ordinal!: Float64Array
  #lastMethod = ''
  #lastRoute = ''
  #lastResource = ''
  #lastRouteId = -1
  #exposureId!: Int32Array
  #pathStart!: Uint32Array
  #pathBytes!: Buffer
  #pathLen = 0
  #clientIds = new Map<Client, number>()
  #routeIds = new Map<string, number>()
  #exposureIds = new Map<readonly Exposure[], number>()
  #clients: ClientDelta[] = []
  #routes: RouteDelta[] = []
  #exposureLists: { id: number; list: readonly Exposure[] }[] = []
  #reset = false
  // tables start over between batches only: earlier lines of a batch still name the old ids
  #resetDue = false

  constructor(capacity = 16_384) {
    this.#capacity = capacity
    this.#alloc()
  }

  #alloc(): void {
    const c = this.#capacity
    this.#time = new Float64Array(c)
    this.#status = new Uint16Array(c)
    this.#bytes = new Float64Array(c)
    this.#clientId = new Int32Array(c)
    this.#routeId = new Int32Array(c)
    this.#ordinal = new Float64Array(c)
    this.#exposureId = new Int32Array(c)
    this.#pathStart = new Uint32Array(c + 1)
    this.#pathBytes = Buffer.allocUnsafeSlow(c * 48)
    this.#pathLen = 0
    this.#n = 0
  }

  get length(): number {
    return this.#n
  }

  get full(): boolean {
    return this.#n >= this.#capacity
  }

  #grow(): void {
    const c = this.#capacity * 2
    this.#time = grow(this.#time, c)
    this.#status = grow(this.#status, c)
    this.#bytes = grow(this.#bytes, c)
    this.#clientId = grow(this.#clientId, c)
    this.#routeId = grow(this.#routeId, c)
    this.#ordinal = grow(this.#ordinal, c)
    this.#exposureId = grow(this.#exposureId, c)
    this.#pathStart = grow(this.#pathStart, c + 1)
    this.#capacity = c
  }

  /** Appends one line (columns grow as needed). */
  add(line: ParsedLine, r: ResolvedLine): void {
    if (this.#n >= this.#capacity) this.#grow()
    const i = this.#n++
    this.#time[i] = line.timeMs
    this.#status[i] = line.status
    this.#bytes[i] = line.bytes
    let cid = this.#clientIds.get(r.client)
    if (cid === undefined) {
      cid = this.#clientIds.size
      this.#clientIds.set(r.client, cid)
      this.#clients.push({ id: cid, client: r.client, principals: r.principals })
    }
    this.#clientId[i] = cid
    this.#ordinal[i] = r.ordinal
    // route facts are few (one per catalogue route and method, plus page/asset), and runs of
    // lines share them: compare with the previous line's before building a key
    let rid: number | undefined
    if (
      r.method === this.#lastMethod &&
      r.route === this.#lastRoute &&
      r.resource === this.#lastResource
    )
      rid = this.#lastRouteId
    else {
      const rkey = `${r.method} ${r.resource} ${r.route}`
      rid = this.#routeIds.get(rkey)
      if (rid === undefined) {
        if (this.#routeIds.size >= MAX_IDS) this.#resetDue = true
        rid = this.#routeIds.size
        this.#routeIds.set(rkey, rid)
        this.#routes.push({ id: rid, method: r.method, route: r.route, resource: r.resource })
      }
      this.#lastMethod = r.method
      this.#lastRoute = r.route
      this.#lastResource = r.resource
      this.#lastRouteId = rid
    }
    this.#routeId[i] = rid
    let eid = this.#exposureIds.get(r.exposures)
    if (eid === undefined) {
      if (this.#exposureIds.size >= MAX_IDS) this.#resetDue = true
      eid = this.#exposureIds.size
      this.#exposureIds.set(r.exposures, eid)
      this.#exposureLists.push({ id: eid, list: r.exposures })
    }
    this.#exposureId[i] = eid
    // the path: raw bytes, decoded on the main thread only when read
    const len = line.targetEnd - line.targetStart
    if (this.#pathLen + len > this.#pathBytes.length) {
      const bigger = Buffer.allocUnsafeSlow(
        Math.max(this.#pathBytes.length * 2, this.#pathLen + len),
      )
      this.#pathBytes.copy(bigger, 0, 0, this.#pathLen)
      this.#pathBytes = bigger
    }
    const src = line.buf
    const dst = this.#pathBytes
    let o = this.#pathLen
    if (len > 24 && src instanceof Buffer) src.copy(dst, o, line.targetStart, line.targetEnd)
    else for (let k = line.targetStart; k < line.targetEnd; k++) dst[o++] = src[k] as number
    this.#pathLen += len
    this.#pathStart[i + 1] = this.#pathLen
  }

  #startOver(): void {
    this.#lastRouteId = -1
    this.#lastMethod = ''
    this.#routeIds.clear()
    this.#exposureIds.clear()
    this.#routes = []
    this.#exposureLists = []
    this.#reset = true
  }

  #packExposures(): ExposureDeltas {
    const lists = this.#exposureLists
    let total = 0
    for (const l of lists) total += l.list.length
    const ids = new Int32Array(lists.length)
    const offsets = new Uint32Array(lists.length + 1)
    const subjects = new Float64Array(total)
    const fields = new Int32Array(total)
    let o = 0
    for (let k = 0; k < lists.length; k++) {
      const l = lists[k] as { id: number; list: readonly Exposure[] }
      ids[k] = l.id
      for (const e of l.list) {
        subjects[o] = e.subject
        fields[o++] = e.fields
      }
      offsets[k + 1] = o
    }
    return { ids, offsets, subjects, fields }
  }

  /** The batch so far; the encoder starts a new one. */
  take(): CompactBatch {
    const n = this.#n
    const b: CompactBatch = {
      n,
      reset: this.#reset,
      time: this.#time,
      status: this.#status,
      bytes: this.#bytes,
      clientId: this.#clientId,
      routeId: this.#routeId,
      ordinal: this.#ordinal,
      exposureId: this.#exposureId,
      pathStart: this.#pathStart,
      pathBytes: new Uint8Array(
        this.#pathBytes.buffer,
        this.#pathBytes.byteOffset,
        this.#pathBytes.length,
      ),
      clients: this.#clients,
      routes: this.#routes,
      exposures: this.#packExposures(),
    }
    this.#clients = []
    this.#routes = []
    this.#exposureLists = []
    this.#reset = false
    this.#alloc()
    if (this.#resetDue) {
      this.#resetDue = false
      this.#startOver()
    }
    return b
  }
}

/** Main-thread side: keeps the dictionaries and turns batches back into Events. */
export class CompactDecoder {
  readonly #clients: ClientDelta[] = []
  #routes: RouteDelta[] = []
  #exposures: (readonly Exposure[])[] = []

  #apply(b: CompactBatch): void {
    for (const c of b.clients) {
      // Structured clone drops the reader's freeze; frozen, the engine keeps the list's ledgers.
      Object.freeze(c.principals)
      this.#clients[c.id] = c
    }
    if (b.reset) {
      this.#routes = []
      this.#exposures = []
    }
    for (const r of b.routes) this.#routes[r.id] = r
    const x = b.exposures
    for (let k = 0; k < x.ids.length; k++) {
      const list: Exposure[] = []
      for (let j = x.offsets[k] as number; j < (x.offsets[k + 1] as number); j++)
        list.push({ subject: x.subjects[j] as number, fields: x.fields[j] as number })
      this.#exposures[x.ids[k] as number] = list
    }
  }

  /**
   * Calls `visit` for each line of the batch with `out` overwritten: no Event and no path string
   * per line (the path is decoded only if read, before the next line).
   */
  each(b: CompactBatch, out: ScratchEvent, visit: (event: Event) => void): void {
    this.#apply(b)
    const clients = this.#clients
    const routes = this.#routes
    const exposures = this.#exposures
    const paths = b.pathBytes
    const starts = b.pathStart
    const { time, status, bytes, routeId, clientId, exposureId, ordinal } = b
    for (let i = 0; i < b.n; i++) {
      const route = routes[routeId[i] as number] as RouteDelta
      const c = clients[clientId[i] as number] as ClientDelta
      out.timeMs = time[i] as number
      out.method = route.method
      out.route = route.route
      out.setPath(undefined, paths, starts[i] as number, starts[i + 1] as number)
      out.status = status[i] as number
      out.bytes = bytes[i] as number
      out.resource = route.resource
      out.principals = c.principals
      out.exposures = exposures[exposureId[i] as number] as readonly Exposure[]
      out.client = c.client
      out.ordinal = ordinal[i] as number
      visit(out)
    }
  }

  decode(b: CompactBatch): Event[] {
    this.#apply(b)
    const out: Event[] = []
    const clients = this.#clients
    const routes = this.#routes
    const exposures = this.#exposures
    // Paths are decoded now into fresh strings: an Event that outlives its batch (a ledger's
    // last event, a journal entry) must not pin the batch's buffers.
    const paths = Buffer.from(b.pathBytes.buffer, b.pathBytes.byteOffset, b.pathBytes.length)
    const starts = b.pathStart
    for (let i = 0; i < b.n; i++) {
      const route = routes[b.routeId[i] as number] as RouteDelta
      const c = clients[b.clientId[i] as number] as ClientDelta
      out.push({
        timeMs: b.time[i] as number,
        method: route.method,
        route: route.route,
        path: latin1(paths, starts[i] as number, starts[i + 1] as number),
        status: b.status[i] as number,
        bytes: b.bytes[i] as number,
        resource: route.resource,
        principals: c.principals,
        exposures: exposures[b.exposureId[i] as number] as readonly Exposure[],
        client: c.client,
        ordinal: b.ordinal[i] as number,
      })
    }
    return out
  }
}
