/**
 * Response body capture for inspection: bounded buffering, content-coding (gzip, deflate, br)
 * both ways, and the choice of what to look at. Bodies above the cap are never buffered whole:
 * they stream through and are accounted by the catalogue's path rules only.
 */
import {
  brotliCompressSync,
  brotliDecompressSync,
  constants as zlibConstants,
  deflateSync,
  gzipSync,
  inflateSync,
  gunzipSync,
} from 'node:zlib'

/** Content codings the guard can decode and re-encode. */
export const CODINGS = ['identity', 'gzip', 'deflate', 'br'] as const
/** One of {@link CODINGS}. */
export type Coding = (typeof CODINGS)[number]

/** The coding of a Content-Encoding value, or undefined when unsupported (e.g. zstd, chains). */
export function parseCoding(value: string | undefined): Coding | undefined {
  if (value === undefined || value === '') return 'identity'
  const v = value.trim().toLowerCase()
  if (v === 'identity' || v === 'gzip' || v === 'deflate' || v === 'br') return v
  if (v === 'x-gzip') return 'gzip'
  return undefined
}

/** What kind of text a Content-Type carries: `json`, `text` (HTML, plain, XML), or none. */
export function textKind(contentType: string | undefined): 'json' | 'text' | undefined {
  if (contentType === undefined) return undefined
  const ct = contentType.toLowerCase()
  if (ct.includes('json')) return 'json'
  if (ct.startsWith('text/') || ct.includes('html') || ct.includes('xml')) return 'text'
  return undefined
}

/**
 * Decodes a body; undefined when it is corrupt or inflates past `maxBytes` (a compression bomb
 * must not cost memory).
 */
export function decodeBody(body: Buffer, coding: Coding, maxBytes: number): Buffer | undefined {
  try {
    switch (coding) {
      case 'identity':
        return body
      case 'gzip':
        return gunzipSync(body, { maxOutputLength: maxBytes })
      case 'deflate':
        // Some servers send raw deflate under this name; zlib-wrapped is the standard.
        return inflateSync(body, { maxOutputLength: maxBytes })
      case 'br':
        return brotliDecompressSync(body, { maxOutputLength: maxBytes })
    }
  } catch {
    return undefined
  }
}

/** Encodes a body again after masking (fast settings: this is the request path). */
export function encodeBody(body: Buffer, coding: Coding): Buffer {
  switch (coding) {
    case 'identity':
      return body
    case 'gzip':
      return gzipSync(body, { level: 4 })
    case 'deflate':
      return deflateSync(body, { level: 4 })
    case 'br':
      return brotliCompressSync(body, {
        params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 },
      })
  }
}

/**
 * Collects chunks up to `capBytes`; past it, `overflowed` is set and collected chunks are
 * released to the caller (it decides whether to flush or drop them).
 */
export class BoundedBuffer {
  readonly capBytes: number
  #chunks: Buffer[] = []
  #bytes = 0
  #overflowed = false

  constructor(capBytes: number) {
    this.capBytes = capBytes
  }

  /** Adds a chunk; returns false (and keeps nothing more) once the cap is passed. */
  push(chunk: Buffer): boolean {
    if (this.#overflowed) return false
    if (this.#bytes + chunk.length > this.capBytes) {
      this.#overflowed = true
      return false
    }
    this.#chunks.push(chunk)
    this.#bytes += chunk.length
    return true
  }

  get overflowed(): boolean {
    return this.#overflowed
  }

  get bytes(): number {
    return this.#bytes
  }

  /** The chunks collected so far, releasing them. */
  take(): Buffer[] {
    const out = this.#chunks
    this.#chunks = []
    this.#bytes = 0
    return out
  }

  /** Everything collected as one buffer (without releasing). */
  concat(): Buffer {
    return this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#bytes)
  }
}
