/**
 * The terminal summary of an analysis: totals, input problems, and the top actors ranked by
 * harvested records with verdict, records by field class, requests, identities, active span and
 * the top reasons.
 */
import type { ActorReport } from './collector.ts'
import { isoTime, type AnalysisSummary } from './json.ts'

const fmt = new Intl.NumberFormat('en-US')

function span(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-'
  const s = Math.round(ms / 1000)
  if (s < 120) return `${s}s`
  const m = Math.round(s / 60)
  if (m < 120) return `${m}m`
  const h = Math.round(m / 6) / 10
  if (h < 48) return `${h}h`
  return `${Math.round(h / 2.4) / 10}d`
}

/** Formats the summary; `top` actors are listed in detail. */
export function formatTerminalReport(
  summary: AnalysisSummary,
  actors: readonly ActorReport[],
  top = 10,
): string {
  const lines: string[] = []
  const secs = summary.durationMs / 1000
  const counts = { harvester: 0, suspect: 0, benign: 0 }
  for (const a of actors) counts[a.verdict]++
  lines.push(
    `${fmt.format(summary.lines)} lines (${fmt.format(summary.malformed)} malformed) in ${secs.toFixed(1)} s` +
      (secs > 0 ? `, ${fmt.format(Math.round(summary.lines / secs))} lines/s` : '') +
      `; ${isoTime(summary.firstTimeMs) ?? '-'} .. ${isoTime(summary.lastTimeMs) ?? '-'}`,
  )
  lines.push(
    `actors: ${counts.harvester} harvester, ${counts.suspect} suspect, ${fmt.format(counts.benign)} benign; ${fmt.format(summary.decisions)} decisions`,
  )
  for (const s of summary.malformedSamples) lines.push(`  malformed ${s.file}:${s.line}: ${s.text}`)
  for (const i of summary.issues) lines.push(`  ${i.code} ${i.file}: ${i.message}`)
  const shown = actors.filter((a) => a.verdict !== 'benign').slice(0, top)
  if (shown.length === 0) {
    lines.push('no harvester or suspect found')
    return lines.join('\n')
  }
  lines.push('')
  for (const [i, a] of shown.entries()) {
    const fields = Object.entries(a.byField)
      .map(([k, v]) => `${k} ${fmt.format(v)}`)
      .join(', ')
    const p = a.principals
    const ids = [
      `${p.ip.length} ip`,
      p.net.length > 0 ? `${p.net.length} net` : '',
      p.account.length > 0 ? `${p.account.length} account` : '',
      p.key.length > 0 ? `${p.key.length} key` : '',
      p.device.length > 0 ? `${p.device.length} device` : '',
    ]
      .filter((x) => x !== '')
      .join(', ')
    lines.push(
      `${i + 1}. ${a.verdict.toUpperCase()} ${a.id}  (${a.action}, score ${a.score.toFixed(2)})`,
    )
    lines.push(
      `   ${fmt.format(a.distinctRecords)} distinct records${fields === '' ? '' : ` (${fields})`}; ${fmt.format(a.requests)} requests; ${ids}`,
    )
    lines.push(
      `   active ${isoTime(a.firstSeenMs) ?? '-'} .. ${isoTime(a.lastSeenMs) ?? '-'} (${span(a.lastSeenMs - a.firstSeenMs)}); flagged ${isoTime(a.firstFlaggedMs) ?? '-'}`,
    )
    const reasons = a.reasons.toSorted((x, y) => y.contribution - x.contribution).slice(0, 3)
    for (const r of reasons) lines.push(`   - ${r.signal}: ${r.note}`)
    if (p.ip.length <= 3) lines.push(`   ip ${p.ip.join(', ')}`)
    else lines.push(`   ip ${p.ip.slice(0, 3).join(', ')} … (+${p.ip.length - 3})`)
  }
  return lines.join('\n')
}
