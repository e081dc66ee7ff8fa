// Prints the lab ground-truth score of `analyze` per scenario and seed (what
// test/logs/lab-truth.test.ts asserts, with the details): for each adversary, its addresses,
// accounts and keys in harvester actors; benign actors flagged harvester or suspect.
//
//   npx node test/logs/support/lab-truth-run.ts [everything|taobao-2020 ...] [--seeds 1,2,3]
//     [--keep DIR] (keep each log, truth and report there) [--no-device]
//     [--threads 1]
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LAB_TRUTH_CASES, runLabTruth } from './lab-truth.ts'

const args = process.argv.slice(2)
const seedsAt = args.indexOf('--seeds')
const seeds = seedsAt >= 0 ? (args[seedsAt + 1] ?? '1').split(',').map(Number) : [1, 2, 3]
const keepAt = args.indexOf('--keep')
const keep = keepAt >= 0 ? args[keepAt + 1] : undefined
const threadsAt = args.indexOf('--threads')
const threads = threadsAt >= 0 ? Number(args[threadsAt + 1]) : 2
const device = !args.includes('--no-device')
const values = new Set([seedsAt, keepAt, threadsAt].filter((i) => i >= 0).map((i) => i + 1))
const names = args.filter((a, i) => !a.startsWith('--') && !values.has(i))
const cases = LAB_TRUTH_CASES.filter((c) => names.length === 0 || names.includes(c.scenario))
const dir = keep ?? (await mkdtemp(join(tmpdir(), 'hg-lab-truth-')))
try {
  for (const c of cases)
    for (const seed of seeds) {
      const { lines, decisions, analyzeSeconds, truth, score } = await runLabTruth(c, seed, dir, {
        device,
        threads,
        json: keep === undefined ? undefined : join(dir, `${c.scenario}-${seed}.json`),
      })
      const profileOf = new Map(truth.actors.map((a) => [a.id, a.profile]))
      const byProfile = (ids: readonly string[]): string => {
        const m = new Map<string, number>()
        for (const id of ids) {
          const p = profileOf.get(id) ?? '?'
          m.set(p, (m.get(p) ?? 0) + 1)
        }
        return [...m].map(([p, n]) => `${p} ${n}`).join(', ') || '-'
      }
      console.log(
        `## ${c.scenario} seed ${seed}: ${lines} lines, analyze ${analyzeSeconds.toFixed(1)} s, ${decisions} decisions`,
      )
      for (const a of score.adversaries)
        console.log(
          `  ${a.ok ? 'ok  ' : 'MISS'} ${a.id} (${a.profile}): ip ${a.ips[0]}/${a.ips[1]}, account ${a.accounts[0]}/${a.accounts[1]}, key ${a.keys[0]}/${a.keys[1]}`,
        )
      console.log(
        `  benign ${score.benign}: harvester ${score.benignHarvester.length} (${byProfile(score.benignHarvester)}), suspect ${score.benignSuspect.length} (${byProfile(score.benignSuspect)})`,
      )
    }
} finally {
  if (keep === undefined) await rm(dir, { recursive: true, force: true })
}
