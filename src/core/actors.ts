/**
 * Actors: identities seen together on one request belong, as far as we can tell, to one actor
 * (an account used from several IPs, a device across accounts, a partner key across IPs). A
 * decision on one identity reaches every identity of its actor, so a harvester cannot shed a
 * block by rotating the part of its identity that got caught.
 *
 * Only owner identities (account, key, session) create links, to whatever else the request
 * carried (except net:, which is always shared). Location-like identities (ip, device) that
 * have been seen with many owners are shared (a NAT address, a popular browser build): they are
 * neither reached nor walked through, so one harvester on a campus network does not take the
 * campus down with it. Weak identities (a device a log names by its user agent alone, see
 * WEAK_DEVICE_PREFIX) are never linked at all: everyone with the same browser build shares one,
 * from the first request on, and the graph would join them before it could count them as shared.
 *
 * Bounded memory: at most `maxNodes` identities with at most `maxLinks` partners each (newest
 * kept); the least recently linked identity is forgotten first.
 */
import { kindIndex } from './policy.ts'
import { isWeakPrincipal, KIND, type Principal } from './principal.ts'

/** Options of {@link ActorGraph}. */
export interface ActorGraphOptions {
  /** @default 200_000 */
  readonly maxNodes?: number
  /** Partners remembered per identity. @default 8 */
  readonly maxLinks?: number
  /** An ip: seen with more owners (accounts, keys) than this is shared. @default 4 */
  readonly sharedAfter?: number
  /**
   * A device: seen with more owners than this is shared. Higher than for ip: because a
   * headless mimic drives 10-50 accounts from one fingerprint. @default 64
   */
  readonly deviceSharedAfter?: number
  /** Most identities one actor reaches. @default 64 */
  readonly maxActorSize?: number
}

/** How a linked identity was reached from the one before it on the actor walk. */
export const LINK_RELATIONS = ['used-from', 'same-requests'] as const
/**
 * `used-from`: an owner (account, key, session) was used from an address or device, or the
 * reverse; `same-requests`: two owners (or two non-owners, through an owner) on one request.
 */
export type LinkRelation = (typeof LINK_RELATIONS)[number]

/** An identity reached through linking, and why. */
export interface LinkedPrincipal {
  readonly principal: Principal
  /** The identity the walk reached it from: the two were seen on the same requests. */
  readonly via: Principal
  readonly relation: LinkRelation
  /** The same in words: `account:… was used from ip:…`. */
  readonly note: string
}

/** The actor of a principal: an id and the other identities it reaches. */
export interface Actor {
  /** The actor's id: its first owner identity (account, key, session) in sort order, else the principal. */
  readonly id: string
  readonly linked: readonly LinkedPrincipal[]
}

const KIND_IP = KIND.ip
const KIND_NET = KIND.net
const KIND_ACCOUNT = KIND.account
const KIND_KEY = KIND.key
const KIND_SESSION = KIND.session
const KIND_DEVICE = KIND.device

interface Node {
  /** Partners, oldest first. */
  links: Principal[]
  /** Distinct account/key partners ever linked (not capped: sharing must not be forgotten). */
  owners: number
  kind: number
  /** Graph clock at the last move to the recent end of the eviction order. */
  stamp: number
}

// Kind indexes of one request's principals (the graph is single-threaded and synchronous).
const KIND_SCRATCH = new Int8Array(16)

function isOwner(kind: number): boolean {
  return kind === KIND_ACCOUNT || kind === KIND_KEY || kind === KIND_SESSION
}

/** The kind index under which `p` links: -1 (never) for a weak identity. */
function linkKind(p: Principal, kind: number): number {
  return kind === KIND_DEVICE && isWeakPrincipal(p) ? -1 : kind
}

/** Bounded graph of identities seen together. */
export class ActorGraph {
  readonly #nodes = new Map<Principal, Node>()
  readonly #maxNodes: number
  readonly #maxLinks: number
  readonly #sharedAfter: number
  readonly #deviceSharedAfter: number
  readonly #maxActorSize: number
  #forgotten = 0
  #clock = 0

  constructor(options: ActorGraphOptions = {}) {
    this.#maxNodes = options.maxNodes ?? 200_000
    this.#maxLinks = options.maxLinks ?? 8
    this.#sharedAfter = options.sharedAfter ?? 4
    this.#deviceSharedAfter = options.deviceSharedAfter ?? 64
    this.#maxActorSize = options.maxActorSize ?? 64
  }

  /** Identities tracked. */
  get size(): number {
    return this.#nodes.size
  }
  /** Identities forgotten to respect maxNodes. */
  get forgotten(): number {
    return this.#forgotten
  }

  /**
   * Links the identities of one request. Cheap when nothing is new: one lookup per owner
   * identity and a scan of its few partners; the partners themselves are looked up only for a
   * pair not linked yet. (Looking up both ends of every pair made linking 14% of the engine's
   * time in bench/engine.bench.ts: the graph is as large as the ledger store, so every lookup
   * is a cache miss.)
   */
  observe(principals: readonly Principal[], knownKinds?: ArrayLike<number>): void {
    const n = principals.length
    const kinds = n <= KIND_SCRATCH.length ? KIND_SCRATCH : new Int8Array(n)
    let owners = 0
    for (let i = 0; i < n; i++) {
      const p = principals[i]!
      const k = linkKind(p, knownKinds === undefined ? kindIndex(p) : knownKinds[i]!)
      kinds[i] = k
      if (isOwner(k)) owners++
    }
    if (owners === 0) return
    for (let i = 0; i < n; i++) {
      const ka = kinds[i]!
      if (!isOwner(ka)) continue
      const a = principals[i]!
      let na = this.#nodes.get(a)
      for (let j = 0; j < n; j++) {
        if (j === i) continue
        const kb = kinds[j]!
        if (kb < 0 || kb === KIND_NET) continue
        const b = principals[j]!
        // Owner-owner pairs are linked once, from the smaller string.
        if (isOwner(kb) && b < a) continue
        // Already partners: link() would change nothing.
        if (na !== undefined && na.links.includes(b)) continue
        this.link(a, ka, b, kb)
        // link() may have created, moved or (at the cap) evicted nodes: look again.
        na = this.#nodes.get(a)
      }
    }
  }

  /**
   * Whether {@link observe} of these principals would change nothing for the owner at index
   * `i`: its node exists and already holds every partner observe() would link from it. The
   * engine asks after observing a request whose set of identities it had not seen with that
   * owner, and skips linking while the set stays the same (see engine.ts).
   */
  holdsLinks(principals: readonly Principal[], kinds: ArrayLike<number>, i: number): boolean {
    const a = principals[i]!
    const na = this.#nodes.get(a)
    if (na === undefined) return false
    for (let j = 0; j < principals.length; j++) {
      if (j === i) continue
      const b = principals[j]!
      const kb = linkKind(b, kinds[j]!)
      if (kb < 0 || kb === KIND_NET) continue
      if (isOwner(kb) && b < a) continue
      if (!na.links.includes(b)) return false
    }
    return true
  }

  /**
   * Records that owner `a` (of kind index `ka`) was seen with `b` (kind index `kb`); nothing
   * when either is weak.
   */
  link(a: Principal, ka: number, b: Principal, kb: number): void {
    if (linkKind(a, ka) < 0 || linkKind(b, kb) < 0) return
    const na = this.#node(a, ka)
    if (na.links.includes(b)) return
    const nb = this.#node(b, kb)
    this.#push(na, b)
    this.#push(nb, a)
    if (ka === KIND_ACCOUNT || ka === KIND_KEY) nb.owners++
    if (kb === KIND_ACCOUNT || kb === KIND_KEY) na.owners++
    // Fresh links mark both as recently used.
    this.#touch(a, na)
    this.#touch(b, nb)
  }

  #node(p: Principal, kind: number): Node {
    let node = this.#nodes.get(p)
    if (node === undefined) {
      if (this.#nodes.size >= this.#maxNodes) {
        for (const oldest of this.#nodes.keys()) {
          this.#nodes.delete(oldest)
          this.#forgotten++
          break
        }
      }
      node = { links: [], owners: 0, kind, stamp: this.#clock++ }
      this.#nodes.set(p, node)
    }
    return node
  }

  #push(node: Node, partner: Principal): void {
    if (node.links.length >= this.#maxLinks) node.links.shift()
    node.links.push(partner)
  }

  #touch(p: Principal, node: Node): void {
    // Already among the most recent quarter: moving it again buys nothing (a partner key linking
    // a new address on every request would otherwise re-insert on every request).
    if (this.#clock - node.stamp < this.#nodes.size >>> 2) return
    node.stamp = this.#clock++
    this.#nodes.delete(p)
    this.#nodes.set(p, node)
  }

  /** Whether an identity is shared by many owners (never reached nor walked through). */
  isShared(principal: Principal): boolean {
    const node = this.#nodes.get(principal)
    return node !== undefined && this.#shared(node)
  }

  #shared(node: Node): boolean {
    if (node.kind === KIND_IP) return node.owners > this.#sharedAfter
    if (node.kind === KIND_DEVICE) return node.owners > this.#deviceSharedAfter
    return node.kind === KIND_NET
  }

  /**
   * The actor of `principal`: a walk over links that skips shared identities, at most
   * `maxActorSize` identities, each with a note saying through which identity it was reached.
   */
  actorOf(principal: Principal): Actor {
    const start = this.#nodes.get(principal)
    if (start === undefined) return { id: principal, linked: [] }
    const seen = new Set<Principal>([principal])
    const linked: LinkedPrincipal[] = []
    const queue: Principal[] = [principal]
    let id = isOwner(start.kind) ? principal : ''
    for (let q = 0; q < queue.length && seen.size < this.#maxActorSize; q++) {
      const p = queue[q]!
      const node = this.#nodes.get(p)
      if (node === undefined) continue
      // A shared identity speaks for nobody: a NAT address does not link its users.
      if (this.#shared(node)) continue
      for (const partner of node.links) {
        if (seen.has(partner) || seen.size >= this.#maxActorSize) continue
        const pn = this.#nodes.get(partner)
        if (pn === undefined || this.#shared(pn)) continue
        seen.add(partner)
        queue.push(partner)
        linked.push(linkedVia(partner, pn.kind, p, node.kind))
        if (isOwner(pn.kind) && (id === '' || partner < id)) id = partner
      }
    }
    return { id: id === '' ? principal : id, linked }
  }
}

function linkedVia(
  principal: Principal,
  kind: number,
  via: Principal,
  viaKind: number,
): LinkedPrincipal {
  if (isOwner(viaKind) !== isOwner(kind)) {
    const note = isOwner(viaKind)
      ? `${via} was used from ${principal}`
      : `${principal} was used from ${via}`
    return { principal, via, relation: 'used-from', note }
  }
  return {
    principal,
    via,
    relation: 'same-requests',
    note: `${principal} was seen on the same requests as ${via}`,
  }
}
