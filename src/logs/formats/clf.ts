/**
 * nginx/Apache `combined` and `common` log lines, parsed straight from bytes:
 *
 *     $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
 *     "$http_referer" "$http_user_agent"
 *
 * Fields are located with byte scans and left as ranges (see {@link ParsedLine}); the time is
 * computed arithmetically from its digits. Anything after the user agent (upstream times,
 * session IDs some sites append) is ignored. A request line that is not `METHOD TARGET PROTO`
 * (nginx logs `"-"` for a connection that sent nothing) is kept with method `-`: it is traffic,
 * not a malformed line.
 */
import type { LineParser, ParsedLine } from '../parsed-line.ts'

const SP = 32
const QUOTE = 34
const BACKSLASH = 92
const LBRACKET = 91
const RBRACKET = 93
const DASH = 45

// Month from its three letters: (c1 | 0x20) * 65536 + ... lower-cased.
const MONTHS = new Map<number, number>(
  ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'].map(
    (m, i) => [m.charCodeAt(0) * 65536 + m.charCodeAt(1) * 256 + m.charCodeAt(2), i],
  ),
)

// One Date.UTC per distinct day seen: a log covers few days, and Date.UTC costs ~50 ns.
let lastDayKey = -1
let lastDayMs = 0

function digit(buf: Uint8Array, i: number): number {
  const d = (buf[i] ?? 0) - 48
  return d >= 0 && d <= 9 ? d : -1000000
}

/**
 * Parses `dd/Mon/yyyy:HH:MM:SS +zzzz` starting at `i` (the byte after `[`). Returns the time in
 * ms since the epoch, or NaN. Tolerates fractional seconds (`:SS.mmm`) as some Apache configs log.
 */
export function parseClfTime(buf: Uint8Array, i: number, end: number): number {
  if (end - i < 20) return NaN
  const day = digit(buf, i) * 10 + digit(buf, i + 1)
  if (buf[i + 2] !== 47 || buf[i + 6] !== 47 || buf[i + 11] !== 58) return NaN
  const m =
    ((buf[i + 3] ?? 0) | 0x20) * 65536 +
    ((buf[i + 4] ?? 0) | 0x20) * 256 +
    ((buf[i + 5] ?? 0) | 0x20)
  const month = MONTHS.get(m)
  if (month === undefined) return NaN
  const year =
    digit(buf, i + 7) * 1000 + digit(buf, i + 8) * 100 + digit(buf, i + 9) * 10 + digit(buf, i + 10)
  const hh = digit(buf, i + 12) * 10 + digit(buf, i + 13)
  const mm = digit(buf, i + 15) * 10 + digit(buf, i + 16)
  const ss = digit(buf, i + 18) * 10 + digit(buf, i + 19)
  if (
    day < 1 ||
    day > 31 ||
    year < 0 ||
    hh < 0 ||
    hh > 23 ||
    mm < 0 ||
    mm > 59 ||
    ss < 0 ||
    ss > 60
  )
    return NaN
  let j = i + 20
  let ms = 0
  if (buf[j] === 46) {
    // fractional seconds: keep milliseconds, skip further digits
    let scale = 100
    j++
    while (j < end) {
      const d = digit(buf, j)
      if (d < 0) break
      ms += d * scale
      scale /= 10
      j++
    }
    ms = Math.floor(ms)
  }
  let offsetMin = 0
  if (buf[j] === SP && (buf[j + 1] === 43 || buf[j + 1] === DASH) && end - j >= 6) {
    const oh = digit(buf, j + 2) * 10 + digit(buf, j + 3)
    const om = digit(buf, j + 4) * 10 + digit(buf, j + 5)
    if (oh < 0 || om < 0) return NaN
    offsetMin = (oh * 60 + om) * (buf[j + 1] === DASH ? -1 : 1)
  }
  const dayKey = (year * 12 + month) * 32 + day
  if (dayKey !== lastDayKey) {
    lastDayMs = Date.UTC(year, month, day)
    lastDayKey = dayKey
  }
  return lastDayMs + ((hh * 60 + mm - offsetMin) * 60 + ss) * 1000 + ms
}

/** Index of the closing quote of a quoted field opened at `i - 1`, honouring `\"`; -1 if none. */
function closingQuote(buf: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = buf[i]
    if (c === QUOTE) return i
    if (c === BACKSLASH) i++
    i++
  }
  return -1
}

function spaceFrom(buf: Uint8Array, i: number, end: number): number {
  while (i < end && buf[i] !== SP) i++
  return i
}

/** Parses the common part; returns the index after `$body_bytes_sent`, or -1 when malformed. */
function parseCommonPart(buf: Uint8Array, start: number, end: number, out: ParsedLine): number {
  out.reset(buf)
  // $remote_addr
  let i = spaceFrom(buf, start, end)
  if (i === start || i >= end) return -1
  out.ipStart = start
  out.ipEnd = i
  // ident
  i = spaceFrom(buf, i + 1, end)
  if (i >= end) return -1
  // $remote_user
  const userStart = i + 1
  i = spaceFrom(buf, userStart, end)
  if (i >= end) return -1
  out.userStart = userStart
  out.userEnd = i
  // [time]
  if (buf[i + 1] !== LBRACKET) return -1
  const t = parseClfTime(buf, i + 2, end)
  if (Number.isNaN(t)) return -1
  out.timeMs = t
  i += 22
  while (i < end && buf[i] !== RBRACKET) i++
  if (i >= end || buf[i + 1] !== SP || buf[i + 2] !== QUOTE) return -1
  // "$request"
  const reqStart = i + 3
  const reqEnd = closingQuote(buf, reqStart, end)
  if (reqEnd < 0) return -1
  const s1 = spaceFrom(buf, reqStart, reqEnd)
  if (s1 < reqEnd) {
    out.methodStart = reqStart
    out.methodEnd = s1
    let s2 = reqEnd
    // the protocol is the last space-separated token; a target may contain raw spaces
    while (s2 > s1 + 1 && buf[s2 - 1] !== SP) s2--
    if (s2 > s1 + 1 && buf[s2 - 1] === SP) s2--
    else s2 = reqEnd
    out.targetStart = s1 + 1
    out.targetEnd = s2
  } else {
    out.methodStart = out.methodEnd = out.targetStart = out.targetEnd = reqStart
  }
  // $status
  i = reqEnd + 1
  if (buf[i] !== SP) return -1
  const s0 = digit(buf, i + 1)
  const st = s0 * 100 + digit(buf, i + 2) * 10 + digit(buf, i + 3)
  if (st < 0 || (buf[i + 4] !== SP && i + 4 !== end)) return -1
  out.status = st
  i += 4
  if (i >= end) return end
  // $body_bytes_sent
  i++
  if (buf[i] === DASH) {
    i++
  } else {
    let n = 0
    const b0 = i
    while (i < end) {
      const d = (buf[i] ?? 0) - 48
      if (d < 0 || d > 9) break
      n = n * 10 + d
      i++
    }
    if (i === b0) return -1
    out.bytes = n
  }
  if (i < end && buf[i] !== SP) return -1
  return i
}

/** Parses a `common` log line (referer and user agent, when present, are still read). */
export const parseCommonLine: LineParser = (buf, start, end, out) => {
  const i = parseCommonPart(buf, start, end, out)
  if (i < 0) return false
  if (i < end) readRefererAndAgent(buf, i, end, out)
  return true
}

/** Parses a `combined` log line; false when the referer and user agent are missing or broken. */
export const parseCombinedLine: LineParser = (buf, start, end, out) => {
  const i = parseCommonPart(buf, start, end, out)
  if (i < 0 || i >= end) return false
  return readRefererAndAgent(buf, i, end, out)
}

function readRefererAndAgent(buf: Uint8Array, i: number, end: number, out: ParsedLine): boolean {
  // ` "$http_referer" "$http_user_agent"`
  if (buf[i + 1] !== QUOTE) return false
  const refStart = i + 2
  const refEnd = closingQuote(buf, refStart, end)
  if (refEnd < 0) return false
  const refLen = refEnd - refStart
  out.referer = refLen > 1 || (refLen === 1 && buf[refStart] !== DASH)
  if (buf[refEnd + 1] !== SP || buf[refEnd + 2] !== QUOTE) return false
  const uaStart = refEnd + 3
  const uaEnd = closingQuote(buf, uaStart, end)
  if (uaEnd < 0) return false
  out.hasUserAgent = true
  out.uaStart = uaStart
  // nginx logs an absent User-Agent as "-"
  out.uaEnd = uaEnd - uaStart === 1 && buf[uaStart] === DASH ? uaStart : uaEnd
  return true
}
