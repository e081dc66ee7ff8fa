/**
 * Node implementations of the Keyer port: keyed PRFs that turn subjects and personal values into
 * 53-bit digests, so that state, journals and reports hold `user:…` only as numbers nobody can
 * invert without the secret (a phone number has ~10^10 values: an unkeyed hash would be
 * reversed by enumeration in minutes).
 *
 * Two PRFs, both keyed with a subkey derived from the config secret:
 * - SipHash-2-4 (128-bit key, 64-bit output): designed for short inputs; the default, because
 *   it measured 13-35x faster than HMAC on subjects and keys, 3.7x on 200-byte fingerprints
 *   (bench/keyer.bench.ts, bench/RESULTS.md): Node's HMAC costs ~4 µs a call in object setup.
 * - HMAC-SHA-256 truncated: the conservative choice, for operators who must use a NIST PRF.
 * At a 53-bit output both are PRFs whose outputs an attacker without the key cannot link to
 * inputs; the only gap is key size (128 vs 256 bits), and 2^128 is out of reach either way.
 */
import { createHmac } from 'node:crypto'
import { HarvestGuardError, type Digest, type Keyer } from '../core/index.ts'
import { sipHash24, sipKey, type SipKey } from './siphash.ts'
import { WASM_MESSAGE_BYTES, wasmSipHash, type WasmSipHash } from './siphash-wasm.ts'

/** Keyed PRFs a {@link Keyer} can use. */
export const KEYER_ALGORITHMS = ['siphash-2-4', 'hmac-sha256'] as const
/** One of {@link KEYER_ALGORITHMS}. */
export type KeyerAlgorithm = (typeof KEYER_ALGORITHMS)[number]

/** Code when a keyer is built from an empty or short secret, or given a bad namespace. */
export const KEYER_INVALID = 'HG_KEYER_INVALID'

/** Shortest secret a keyer accepts (128 bits of hex or 16 characters). */
export const MIN_KEYER_SECRET_LENGTH = 16

/** A secret as a string or anything with `reveal()` (config's Secret). */
export type KeyerSecret = string | { reveal(): string }

/** Options of {@link createKeyer}. */
export interface KeyerOptions {
  /** @default 'siphash-2-4' */
  readonly algorithm?: KeyerAlgorithm
}

/**
 * Derives the digest subkey from the config secret, so the raw secret is never the key of more
 * than one construction (the HTTP challenge or a future use get their own labels).
 */
function deriveKey(secret: KeyerSecret): Buffer {
  const text = typeof secret === 'string' ? secret : secret.reveal()
  if (text.length < MIN_KEYER_SECRET_LENGTH) {
    throw new HarvestGuardError(
      KEYER_INVALID,
      `keyer secret is shorter than ${MIN_KEYER_SECRET_LENGTH} characters`,
    )
  }
  return createHmac('sha256', text).update('harvestguard/keyer/v1').digest()
}

function badNamespace(namespace: string): HarvestGuardError {
  return new HarvestGuardError(
    KEYER_INVALID,
    `keyer namespace must be non-empty without NUL characters, got ${JSON.stringify(namespace)}`,
  )
}

/** Options of {@link SipHashKeyer}. */
export interface SipHashKeyerOptions {
  /**
   * Use the WebAssembly implementation where the runtime has WebAssembly (same digests, about 3x
   * faster on short inputs). @default true
   */
  readonly wasm?: boolean
}

const encoder = new TextEncoder()

/** ASCII text into `buf` at `at` by char codes; -1 at the first non-ASCII character. */
function writeAscii(text: string, buf: Uint8Array, at: number): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c > 0x7f) return -1
    buf[at + i] = c
  }
  return at + text.length
}

/** UTF-8 of `text` into `buf` at `at` (which has room for 3 bytes a UTF-16 unit); the end. */
function writeUtf8(text: string, buf: Uint8Array, at: number): number {
  // Short ASCII (nearly every subject) by hand: the encoder's call costs more than the copy.
  if (text.length <= 32) {
    const end = writeAscii(text, buf, at)
    if (end >= 0) return end
  }
  return at + encoder.encodeInto(text, buf.subarray(at)).written
}

/** `namespace NUL value` in UTF-8 into `buf` (room for 3 bytes a UTF-16 unit, plus 1); its length. */
function writeMessage(buf: Uint8Array, namespace: string, value: string): number {
  const n = writeUtf8(namespace, buf, 0)
  buf[n] = 0
  return writeUtf8(value, buf, n + 1)
}

/**
 * Keyer on SipHash-2-4 over `namespace NUL value` (UTF-8). The NUL separator, which a namespace
 * may not contain, keeps `("a", "b:c")` and `("a:b", "c")` apart. Computed in WebAssembly where
 * the runtime has it (siphash-wasm.ts), else in JavaScript (siphash.ts): the same digests.
 */
export class SipHashKeyer implements Keyer {
  readonly algorithm = 'siphash-2-4'
  readonly #key: SipKey
  readonly #wasm: WasmSipHash | undefined
  #buffer = new Uint8Array(256)
  readonly #out = new Uint32Array(2)

  constructor(secret: KeyerSecret, options: SipHashKeyerOptions = {}) {
    this.#key = sipKey(deriveKey(secret).subarray(0, 16))
    this.#wasm = options.wasm === false ? undefined : wasmSipHash(this.#key)
  }

  /** Whether digests are computed in WebAssembly. */
  get usesWasm(): boolean {
    return this.#wasm !== undefined
  }

  digest(namespace: string, value: string): Digest {
    if (namespace.length === 0 || namespace.includes('\0')) throw badNamespace(namespace)
    const need = (namespace.length + value.length) * 3 + 1
    const wasm = this.#wasm
    if (wasm !== undefined && need <= WASM_MESSAGE_BYTES)
      return wasm.digest(writeMessage(wasm.memory, namespace, value))
    if (need > this.#buffer.length)
      this.#buffer = new Uint8Array(Math.max(need, this.#buffer.length * 2))
    sipHash24(this.#key, this.#buffer, writeMessage(this.#buffer, namespace, value), this.#out)
    // Top 53 of the 64 bits: the whole high word, then 21 bits of the low word.
    return this.#out[0]! * 0x20_0000 + (this.#out[1]! >>> 11)
  }
}

/**
 * Keyer on HMAC-SHA-256 over `namespace NUL value`, truncated to 53 bits. (Preparing the inner
 * and outer pads once and copying hash states per call measured no faster in Node 24: the cost
 * is the per-call crypto object, not the two extra SHA-256 blocks.)
 */
export class HmacKeyer implements Keyer {
  readonly algorithm = 'hmac-sha256'
  readonly #key: Buffer

  constructor(secret: KeyerSecret) {
    this.#key = deriveKey(secret)
  }

  digest(namespace: string, value: string): Digest {
    if (namespace.length === 0 || namespace.includes('\0')) throw badNamespace(namespace)
    const mac = createHmac('sha256', this.#key)
      .update(namespace)
      .update('\0')
      .update(value)
      .digest()
    return mac.readUIntBE(0, 6) * 32 + (mac[6]! >>> 3)
  }
}

/**
 * The Keyer for a config secret.
 * @example
 * const keyer = createKeyer(config.secret)
 * keyer.digest('user', '12345') // 53-bit number, stable for this secret
 */
export function createKeyer(
  secret: KeyerSecret,
  options: KeyerOptions = {},
): Keyer & {
  readonly algorithm: KeyerAlgorithm
} {
  return options.algorithm === 'hmac-sha256' ? new HmacKeyer(secret) : new SipHashKeyer(secret)
}
