/**
 * The fields of one access-log line, as byte ranges into a buffer. Parsers fill one reusable
 * instance per line instead of allocating strings per field: only the few fields the event
 * builder keeps are ever decoded (and most of those are interned, see `byte-interner.ts`).
 */
export class ParsedLine {
  /** Buffer the ranges point into (the read chunk, or a parser's scratch buffer). */
  buf: Uint8Array = EMPTY
  ipStart = 0
  ipEnd = 0
  /** `$remote_user`; an empty range or `-` means none. */
  userStart = 0
  userEnd = 0
  methodStart = 0
  methodEnd = 0
  /** Request target: path with query string. */
  targetStart = 0
  targetEnd = 0
  uaStart = 0
  uaEnd = 0
  /** Milliseconds since the epoch. */
  timeMs = 0
  status = 0
  /** Response body bytes, 0 when the log says `-`. */
  bytes = 0
  /** Whether a Referer was logged (not empty, not `-`). */
  referer = false
  /** Whether the format logs the user agent at all (common does not). */
  hasUserAgent = false

  reset(buf: Uint8Array): void {
    this.buf = buf
    this.ipStart = this.ipEnd = this.userStart = this.userEnd = 0
    this.methodStart = this.methodEnd = this.targetStart = this.targetEnd = 0
    this.uaStart = this.uaEnd = 0
    this.timeMs = this.status = this.bytes = 0
    this.referer = false
    this.hasUserAgent = false
  }
}

const EMPTY = new Uint8Array(0)

/** Parses one line `buf[start, end)` (no newline) into `out`; false when it is malformed. */
export type LineParser = (buf: Uint8Array, start: number, end: number, out: ParsedLine) => boolean
