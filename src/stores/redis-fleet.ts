/**
 * The wire side of a fleet: one Redis hash per principal holding every guard's own cumulative
 * ledger (`l:<guardId>`, Ledger bytes) and its live decision (`d:<guardId>`, JSON), and the
 * batched exchange that writes this guard's fields and reads everyone's back.
 *
 * Why per-guard state rather than merging in Redis: a Ledger merges sketches by union (idempotent)
 * but counters by addition (not idempotent), and Redis cannot run our sketch merge. Each guard
 * therefore owns its fields and overwrites them with its cumulative state; readers merge the other
 * guards' fields locally. An overwrite is idempotent, so a retried or replayed batch never double
 * counts, and after an outage the guard simply writes its current state again (nothing to replay).
 *
 * Keys are `<prefix>{<principal>}:fleet`: the hash tag keeps all of a principal's state in one
 * Cluster slot. A batch is ONE pipeline per Redis node (one round trip on a standalone server).
 */
import type { Cluster, Redis } from 'ioredis'

/** A Redis client as injected: a standalone/sentinel connection or a Cluster. */
export type RedisClient = Redis | Cluster

/** One principal's part of a batch. */
export interface FleetEntry {
  readonly principal: string
  /** This guard's cumulative ledger bytes, when changed since the last push. */
  readonly ledger?: Uint8Array
  /** This guard's live decision as JSON, when new since the last push. */
  readonly decision?: string
  /** Refresh the key's expiry in this batch. */
  readonly touch?: boolean
  /** Read the fleet's fields back. */
  readonly pull: boolean
}

/** What the other guards hold for one principal. */
export interface FleetPeers {
  readonly ledgers: Buffer[]
  /** The guard id that published each of `ledgers` (same order). */
  readonly guards: string[]
  readonly decisions: string[]
}

/** CRC16-XMODEM slot of a key, honouring `{hash tags}` (Redis Cluster spec). */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8')
  let start = 0
  let end = bytes.length
  const open = bytes.indexOf(0x7b)
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1)
    if (close > open + 1) {
      start = open + 1
      end = close
    }
  }
  let crc = 0
  for (let i = start; i < end; i++) {
    crc ^= (bytes[i] as number) << 8
    for (let b = 0; b < 8; b++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc % 16384
}

/** The same bytes as a Buffer, without a copy (a busy ledger is kilobytes, every round). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true
}

/** Options of {@link RedisFleetExchange}. */
export interface RedisFleetExchangeOptions {
  readonly client: RedisClient
  /** This guard's id, unique in the fleet. */
  readonly guardId: string
  /** @default 'hg:' */
  readonly keyPrefix?: string
  /** Expiry of a principal's hash after its last touch. @default 25h */
  readonly keyTtlMs?: number
}

/** Batched reads and writes of the per-principal fleet hashes. */
export class RedisFleetExchange {
  readonly #client: RedisClient
  readonly #prefix: string
  readonly #ledgerField: string
  readonly #decisionField: string
  readonly #ttlMs: number

  constructor(options: RedisFleetExchangeOptions) {
    this.#client = options.client
    this.#prefix = options.keyPrefix ?? 'hg:'
    this.#ledgerField = `l:${options.guardId}`
    this.#decisionField = `d:${options.guardId}`
    this.#ttlMs = options.keyTtlMs ?? 25 * 3_600_000
  }

  /** The hash holding a principal's fleet state. */
  key(principal: string): string {
    return `${this.#prefix}{${principal}}:fleet`
  }

  /** Redis commands a batch of these entries costs (for metrics and the benchmark). */
  static commands(entries: readonly FleetEntry[]): number {
    let n = 0
    for (const e of entries) {
      if (e.ledger !== undefined || e.decision !== undefined) n++
      if (e.touch === true) n++
      if (e.pull) n++
    }
    return n
  }

  /**
   * Writes this guard's fields and reads the others' back, one pipeline per node. Rejects when
   * any node fails (the caller keeps the entries dirty and retries next round).
   */
  async exchange(entries: readonly FleetEntry[]): Promise<Map<string, FleetPeers>> {
    const client = this.#client
    const groups = new Map<string, FleetEntry[]>()
    if (isCluster(client)) {
      if (client.slots.length === 0)
        await client.cluster('SLOTS').then(
          () => undefined,
          () => undefined,
        )
      for (const e of entries) {
        const node = client.slots[keySlot(this.key(e.principal))]?.join(';') ?? '?'
        let g = groups.get(node)
        if (g === undefined) groups.set(node, (g = []))
        g.push(e)
      }
    } else {
      groups.set('', [...entries])
    }
    const out = new Map<string, FleetPeers>()
    await Promise.all([...groups.values()].map((group) => this.#exchangeGroup(group, out)))
    return out
  }

  async #exchangeGroup(
    entries: readonly FleetEntry[],
    out: Map<string, FleetPeers>,
  ): Promise<void> {
    const pipeline = this.#client.pipeline()
    const reads: string[] = []
    for (const e of entries) {
      const key = this.key(e.principal)
      if (e.ledger !== undefined && e.decision !== undefined) {
        pipeline.hset(key, this.#ledgerField, asBuffer(e.ledger), this.#decisionField, e.decision)
      } else if (e.ledger !== undefined) {
        pipeline.hset(key, this.#ledgerField, asBuffer(e.ledger))
      } else if (e.decision !== undefined) {
        pipeline.hset(key, this.#decisionField, e.decision)
      }
      if (e.touch === true) pipeline.pexpire(key, this.#ttlMs)
      if (e.pull) {
        pipeline.hgetallBuffer(key)
        reads.push(e.principal)
      }
    }
    if (pipeline.length === 0) return
    const results = await pipeline.exec()
    if (results === null) throw new Error('pipeline aborted (connection closed)')
    let r = 0
    for (const [error, value] of results) {
      if (error !== null) throw error
      if (
        value !== null &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        !Buffer.isBuffer(value)
      ) {
        const principal = reads[r++] as string
        const peers: FleetPeers = { ledgers: [], guards: [], decisions: [] }
        for (const [field, v] of Object.entries(value as Record<string, Buffer>)) {
          if (field === this.#ledgerField || field === this.#decisionField) continue
          if (field.startsWith('l:')) {
            peers.ledgers.push(v)
            peers.guards.push(field.slice(2))
          } else if (field.startsWith('d:')) peers.decisions.push(v.toString('utf8'))
        }
        out.set(principal, peers)
      }
    }
  }
}
