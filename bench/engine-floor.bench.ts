// The floor under bench/engine.bench.ts: how fast this machine can merely touch the state an
// engine must touch for the same events, with none of the engine's logic. Issue 2 asks 2,000,000
// events/s of the engine on one core; this measures, in the same run, what a loop over the same
// events does when each principal's state is one 64-byte slot of a flat typed array, indexed by
// an integer id interned before timing (the most a redesign could hope for):
//
//   touch     per event, per principal: a request counter and a last-seen time in its slot
//             (one cache line per principal: no engine can do less)
//   records   touch, plus per record and principal one register raised in a 2 KiB
//             HyperLogLog block, for the principals that ever hold more than 64 records
//             (smaller ones keep their few records in their slot, as the engine's sparse
//             sketches do); one window, not three
//   engine    the real engine on the same events (frozen principal lists, as the log reader
//             hands them)
//
// Usage: npx node bench/engine-floor.bench.ts [--events N]   (default 1,000,000; BENCH_ROUNDS)
import { createEngine } from '../src/core/index.ts'
import { policySchema } from '../src/config/policy-schema.ts'
import { buildEngineMix } from './support/engine-mix.ts'
import { median } from './support/load.ts'

const argEvents = process.argv.indexOf('--events')
const EVENTS = argEvents > 0 ? Number(process.argv[argEvents + 1]) : 1_000_000
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3)
const SLOT_INTS = 16 // 64 bytes
const BLOCK = 2048 // registers of a dense principal (precision 11)
const DENSE_AFTER = 64

const { events } = buildEngineMix(EVENTS)

// Interned before timing: principal ids per event, 32-bit record hashes per event.
const ids = new Map<string, number>()
const pStart = new Int32Array(events.length + 1)
const rStart = new Int32Array(events.length + 1)
const pids: number[] = []
const hashes: number[] = []
for (let i = 0; i < events.length; i++) {
  const e = events[i]!
  pStart[i] = pids.length
  rStart[i] = hashes.length
  for (const p of e.principals) {
    let id = ids.get(p)
    if (id === undefined) ids.set(p, (id = ids.size))
    pids.push(id)
  }
  for (const x of e.exposures)
    hashes.push(Math.imul(x.subject | 0, 0x9e3779b1) ^ (x.subject / 2 ** 32))
}
pStart[events.length] = pids.length
rStart[events.length] = hashes.length
const principalIds = Int32Array.from(pids)
const recordHashes = Int32Array.from(hashes)
const principals = ids.size

// Which principals ever hold more than DENSE_AFTER records get a register block (assigned
// before timing, in order of first need, so blocks of busy principals sit where they are used).
const recordsOf = new Int32Array(principals)
for (let i = 0; i < events.length; i++) {
  const n = rStart[i + 1]! - rStart[i]!
  for (let k = pStart[i]!; k < pStart[i + 1]!; k++) recordsOf[principalIds[k]!]! += n
}
const blockOf = new Int32Array(principals).fill(-1)
let blocks = 0
for (let id = 0; id < principals; id++) if (recordsOf[id]! > DENSE_AFTER) blockOf[id] = blocks++

function touch(): number {
  const slots = new Int32Array(principals * SLOT_INTS)
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < events.length; i++) {
    for (let k = pStart[i]!, end = pStart[i + 1]!; k < end; k++) {
      const s = principalIds[k]! * SLOT_INTS
      slots[s] = slots[s]! + 1
      slots[s + 1] = i
    }
  }
  return events.length / (Number(process.hrtime.bigint() - t0) / 1e9)
}

function records(): number {
  const slots = new Int32Array(principals * SLOT_INTS)
  const regs = new Uint8Array(blocks * BLOCK)
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < events.length; i++) {
    const r0 = rStart[i]!
    const r1 = rStart[i + 1]!
    for (let k = pStart[i]!, end = pStart[i + 1]!; k < end; k++) {
      const id = principalIds[k]!
      const s = id * SLOT_INTS
      slots[s] = slots[s]! + 1
      slots[s + 1] = i
      const b = blockOf[id]!
      for (let r = r0; r < r1; r++) {
        const h = recordHashes[r]!
        if (b < 0) {
          // a sparse principal: its few records live in its own slot
          slots[s + 2 + (h & 7)] = h
          continue
        }
        const at = b * BLOCK + (h >>> 21)
        const rank = Math.clz32((h << 11) | 0x400) + 1
        if (rank > regs[at]!) regs[at] = rank
      }
    }
  }
  return events.length / (Number(process.hrtime.bigint() - t0) / 1e9)
}

const policy = policySchema.parse({})
function engine(): number {
  {
    const warm = createEngine({ policy })
    for (let i = 0; i < Math.min(200_000, events.length); i++) warm.observe(events[i]!)
  }
  const e = createEngine({ policy })
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < events.length; i++) e.observe(events[i]!)
  return events.length / (Number(process.hrtime.bigint() - t0) / 1e9)
}

touch()
records() // warm-up of both loops
const rates: Record<'touch' | 'records' | 'engine', number[]> = {
  touch: [],
  records: [],
  engine: [],
}
for (let r = 0; r < ROUNDS; r++) {
  rates.touch.push(touch())
  rates.records.push(records())
  rates.engine.push(engine())
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en')
const perEvent = pids.length / events.length
const recordsPerEvent = hashes.length / events.length
console.log(
  `${fmt(events.length)} events, ${fmt(principals)} principals (${perEvent.toFixed(2)} a event), ${recordsPerEvent.toFixed(2)} records a event, ${fmt(blocks)} principals with more than ${DENSE_AFTER} records; ${ROUNDS} rounds\n`,
)
console.log('| loop | events/s (rounds) | median | engine / this |')
console.log('|---|---|---:|---:|')
const engineRate = median(rates.engine)
for (const name of ['touch', 'records', 'engine'] as const) {
  const m = median(rates[name])
  console.log(
    `| ${name} | ${rates[name].map(fmt).join(', ')} | ${fmt(m)} | ${(engineRate / m).toFixed(3)} |`,
  )
}
console.log(`\nTarget of the engine: 2,000,000 events/s on one core.`)
