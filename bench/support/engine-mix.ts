// The engine benchmarks' traffic: about 100k principals (visitors' ip and session, 30% with an
// account, shared /24 nets and 300 browser fingerprints; 1% of visitors are harvesters making
// 10% of requests: partner-key lookups, sequential sprinters, bare-page swarm members), built
// deterministically before any timing. Used by bench/engine.bench.ts and
// bench/engine-floor.bench.ts, so both measure the same events.
import type { Event, Principal } from '../../src/core/index.ts'
import { Rng } from '../../src/lab/prng.ts'

const VISITORS = 40_000
const HARVESTERS = VISITORS / 100
/** Time of the first event. */
export const START = Date.UTC(2026, 0, 5)

// Deterministic (mulberry32, the lab's) so runs compare; re-seeded by buildEngineMix.
let rng = new Rng(0x5eed)
const rand = (): number => rng.next()

const NO_EXPOSURES: readonly { subject: number; fields: number }[] = Object.freeze([])

/** One visitor of the mix and its identities. */
export interface Visitor {
  /** Frozen: one list per identity, reused, as the log reader builds them. */
  principals: readonly Principal[]
  /** The same principals in a plain array, as a feeder that builds a list per request has. */
  plain: readonly Principal[]
  client: Event['client']
  clientBare: Event['client']
  kind: 'shopper' | 'partner' | 'sprinter' | 'swarm'
  ua: number
  next: number
}

export function ipOf(i: number): string {
  return `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`
}

function buildVisitors(): Visitor[] {
  const out: Visitor[] = []
  for (let i = 0; i < VISITORS; i++) {
    const harvester = i % 100 === 7
    const ip = ipOf(i * 7 + 11)
    const net = `net:${ip.slice(0, ip.lastIndexOf('.'))}.0/24`
    const device = `device:${(harvester ? 900 : Math.floor(rand() * 300)).toString(16).padStart(14, '0')}`
    const principals = [`ip:${ip}`, net, `session:${(i * 2654435761) >>> 0}`, device]
    if (!harvester && rand() < 0.3) principals.push(`account:${(i * 40503) >>> 0}`)
    const kind = harvester ? (['partner', 'sprinter', 'swarm'] as const)[i % 3]! : 'shopper'
    if (kind === 'partner') principals.push(`key:partner${i % 5}`)
    const ua = harvester ? 2 : 0
    out.push({
      principals: Object.freeze(principals.slice()),
      plain: principals,
      client: { ip: '', userAgent: '', referer: true, anomalies: ua },
      clientBare: { ip: '', userAgent: '', referer: false, anomalies: ua },
      kind,
      ua,
      next: Math.floor(rand() * 1e6),
    })
  }
  return out
}

function buildEvents(visitors: Visitor[], count: number, visitorOf: Visitor[]): Event[] {
  const events: Event[] = []
  let t = START
  while (events.length < count) {
    // Harvesters make ~10% of requests, shoppers the rest (a few heavy ones much more).
    const h = rand() < 0.1
    const v = h
      ? visitors[Math.floor(rand() * HARVESTERS) * 100 + 7]!
      : visitors[Math.floor(rand() * rand() * VISITORS)]!
    t += 1
    // Shared per visitor: a feeder allocates these per request and drops them; holding two
    // million distinct copies here would only make the collector scan the bench's own input.
    const client = h ? v.clientBare : v.client
    visitorOf.push(v)
    if (v.kind === 'shopper') {
      const page = rand() < 0.3
      const subject = Math.floor(rand() * 5_000_000)
      events.push({
        timeMs: t,
        method: 'GET',
        route: page ? 'GET /items/:itemId' : 'GET /assets/*',
        path: '/',
        status: 200,
        bytes: 1000,
        resource: page ? 'page' : 'asset',
        principals: v.principals,
        exposures: !page
          ? NO_EXPOSURES
          : Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, k) => ({
              subject: subject + k,
              fields: 0b10000101,
            })),
        client,
        ordinal: -1,
      })
    } else {
      const id = v.kind === 'sprinter' ? v.next++ : Math.floor(rand() * 50_000_000)
      events.push({
        timeMs: t,
        method: 'GET',
        route: 'GET /api/users/:userId',
        path: '/',
        status: rand() < 0.05 ? 404 : 200,
        bytes: 300,
        resource: v.kind === 'swarm' ? 'page' : 'api',
        principals: v.principals,
        exposures: [{ subject: id * 31 + 7, fields: v.kind === 'partner' ? 0b11 : 0b101 }],
        client,
        ordinal: id,
      })
    }
  }
  return events
}

/** The mix: its visitors, `count` events, and the visitor of each event. */
export interface EngineMix {
  readonly visitors: readonly Visitor[]
  readonly events: Event[]
  /** Visitor of each event, to switch its principal list between the frozen and the plain one. */
  readonly visitorOf: readonly Visitor[]
}

/** Builds the mix from the same seed every time. */
export function buildEngineMix(count: number): EngineMix {
  rng = new Rng(0x5eed)
  const visitors = buildVisitors()
  const visitorOf: Visitor[] = []
  const events = buildEvents(visitors, count, visitorOf)
  return { visitors, events, visitorOf }
}
