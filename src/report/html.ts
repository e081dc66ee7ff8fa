/**
 * The `analyze --html` page: one self-contained file (inline CSS and SVG drawn here, no script,
 * no fetch), so it opens offline and can be mailed as evidence. A chart of cumulative distinct
 * records per top actor over time with a marker where each was flagged, then a table of actors
 * with their identities and reasons.
 */
import type { ActorReport } from './collector.ts'
import { isoTime, type AnalysisSummary } from './json.ts'

const COLORS = [
  '#d62728',
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
]
const fmt = new Intl.NumberFormat('en-US')

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** Options of {@link renderHtmlReport}. */
export interface HtmlReportOptions {
  /** Actors drawn in the chart. @default 8 */
  readonly chartActors?: number | undefined
  /** Actors listed in the table. @default 50 */
  readonly tableActors?: number | undefined
  readonly title?: string | undefined
}

/** Points of an actor's cumulative series, closed at its last sighting. */
function points(a: ActorReport): [number, number][] {
  const out: [number, number][] = [[a.firstSeenMs, 0]]
  for (let i = 0; i < a.series.length; i += 2)
    out.push([a.series[i] as number, a.series[i + 1] as number])
  if (Number.isFinite(a.lastSeenMs)) out.push([a.lastSeenMs, a.distinctRecords])
  return out
}

function chart(actors: readonly ActorReport[], t0: number, t1: number): string {
  const W = 960
  const H = 360
  const L = 70
  const R = 20
  const T = 20
  const B = 40
  const maxY = Math.max(1, ...actors.map((a) => a.distinctRecords))
  const span = Math.max(1, t1 - t0)
  const x = (t: number): number => L + ((t - t0) / span) * (W - L - R)
  const y = (v: number): number => T + (1 - v / maxY) * (H - T - B)
  const parts: string[] = []
  parts.push(
    `<svg id="records-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="cumulative distinct records per actor">`,
  )
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`)
  // grid and axes
  for (let k = 0; k <= 4; k++) {
    const v = (maxY * k) / 4
    const yy = y(v).toFixed(1)
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`)
    parts.push(
      `<text x="${L - 6}" y="${yy}" font-size="11" text-anchor="end" dominant-baseline="middle" fill="#555">${fmt.format(Math.round(v))}</text>`,
    )
  }
  for (let k = 0; k <= 4; k++) {
    const t = t0 + (span * k) / 4
    const xx = x(t).toFixed(1)
    parts.push(
      `<text x="${xx}" y="${H - B + 16}" font-size="11" text-anchor="middle" fill="#555">${esc((isoTime(t) ?? '').slice(0, 16).replace('T', ' '))}</text>`,
    )
  }
  parts.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/>`)
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/>`)
  actors.forEach((a, i) => {
    const color = COLORS[i % COLORS.length] as string
    const pts = points(a)
    // a step line: the count holds until the next growth point
    let d = ''
    for (const [k, [t, v]] of pts.entries()) {
      const xx = x(t).toFixed(1)
      if (k === 0) d += `M${xx},${y(v).toFixed(1)}`
      else d += `H${xx}V${y(v).toFixed(1)}`
    }
    parts.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="2.5" class="series"><title>${esc(a.id)}</title></path>`,
    )
    if (Number.isFinite(a.firstFlaggedMs)) {
      // the count at the flag time: last point at or before it
      let v = 0
      for (const [t, n] of pts) if (t <= a.firstFlaggedMs) v = n
      parts.push(
        `<circle cx="${x(a.firstFlaggedMs).toFixed(1)}" cy="${y(v).toFixed(1)}" r="6" fill="${color}" stroke="#000" class="flag"><title>${esc(a.id)} flagged ${esc(isoTime(a.firstFlaggedMs) ?? '')} at ${fmt.format(v)} records</title></circle>`,
      )
    }
  })
  parts.push('</svg>')
  return parts.join('')
}

/** Renders the report page. */
export function renderHtmlReport(
  summary: AnalysisSummary,
  actors: readonly ActorReport[],
  options: HtmlReportOptions = {},
): string {
  const flagged = actors.filter((a) => a.verdict !== 'benign')
  const charted = (flagged.length > 0 ? flagged : actors).slice(0, options.chartActors ?? 8)
  const listed = actors.slice(0, options.tableActors ?? 50)
  const t0 = Number.isFinite(summary.firstTimeMs) ? summary.firstTimeMs : 0
  const t1 = Number.isFinite(summary.lastTimeMs) ? summary.lastTimeMs : t0 + 1
  const counts = { harvester: 0, suspect: 0, benign: 0 }
  for (const a of actors) counts[a.verdict]++
  const title = options.title ?? 'HarvestGuard forensic report'
  const legend = charted
    .map(
      (a, i) =>
        `<li><span class="sw" style="background:${COLORS[i % COLORS.length]}"></span>${esc(a.id)}: <b>${a.verdict}</b>, ${fmt.format(a.distinctRecords)} records, flagged ${esc(isoTime(a.firstFlaggedMs) ?? 'never')}</li>`,
    )
    .join('')
  const rows = listed
    .map((a) => {
      const reasons = a.reasons
        .toSorted((x, y) => y.contribution - x.contribution)
        .slice(0, 4)
        .map((r) => `<li><code>${esc(r.signal)}</code> ${esc(r.note)}</li>`)
        .join('')
      const p = a.principals
      const ids = `${p.ip.length} ip, ${p.account.length} account, ${p.key.length} key, ${p.device.length} device`
      const fields = Object.entries(a.byField)
        .map(([k, v]) => `${esc(k)} ${fmt.format(v)}`)
        .join(', ')
      return `<tr class="${a.verdict}"><td>${esc(a.id)}</td><td>${a.verdict}</td><td>${esc(a.action)}</td><td class="n">${a.score.toFixed(2)}</td><td class="n">${fmt.format(a.distinctRecords)}</td><td>${fields}</td><td class="n">${fmt.format(a.requests)}</td><td>${ids}</td><td>${esc(isoTime(a.firstSeenMs) ?? '')}<br>${esc(isoTime(a.lastSeenMs) ?? '')}</td><td>${esc(isoTime(a.firstFlaggedMs) ?? '')}</td><td><ul>${reasons}</ul></td></tr>`
    })
    .join('\n')
  const issues = [
    ...summary.issues.map((i) => `<li>${esc(i.code)} ${esc(i.file)}: ${esc(i.message)}</li>`),
    ...summary.malformedSamples.map(
      (s) => `<li>malformed ${esc(s.file)}:${s.line}: <code>${esc(s.text)}</code></li>`,
    ),
  ].join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:20px;margin:0 0 4px} .sub{color:#666;margin-bottom:16px}
.cards{display:flex;gap:12px;margin:12px 0}.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px}
.card b{display:block;font-size:20px} ul.legend{list-style:none;padding:0;columns:2}
.sw{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:middle}
table{border-collapse:collapse;width:100%;margin-top:16px;font-size:12px}
th,td{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums} tr.harvester td:nth-child(2){color:#b00;font-weight:bold}
tr.suspect td:nth-child(2){color:#b60} td ul{margin:0;padding-left:16px} code{font-size:11px}
</style></head><body>
<h1>${esc(title)}</h1>
<div class="sub">${esc(summary.files.join(', '))}: ${fmt.format(summary.lines)} lines, ${fmt.format(summary.malformed)} malformed, ${esc(isoTime(summary.firstTimeMs) ?? '-')} to ${esc(isoTime(summary.lastTimeMs) ?? '-')}</div>
<div class="cards"><div class="card"><b>${counts.harvester}</b>harvesters</div><div class="card"><b>${counts.suspect}</b>suspects</div><div class="card"><b>${fmt.format(counts.benign)}</b>benign actors</div><div class="card"><b>${fmt.format(summary.decisions)}</b>decisions</div></div>
<h2>Cumulative distinct records served</h2>
${chart(charted, t0, t1)}
<ul class="legend">${legend}</ul>
${issues === '' ? '' : `<h2>Input problems</h2><ul>${issues}</ul>`}
<h2>Actors</h2>
<table><thead><tr><th>actor</th><th>verdict</th><th>action</th><th>score</th><th>distinct records</th><th>by field</th><th>requests</th><th>identities</th><th>active</th><th>first flagged</th><th>top reasons</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`
}
