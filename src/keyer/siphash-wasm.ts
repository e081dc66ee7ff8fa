/**
 * The WebAssembly SipHash-2-4 (source: siphash-wat.ts), one instance per key. WebAssembly's
 * native 64-bit integers take a short subject's digest in about a third of the time of the
 * JavaScript version on 32-bit halves (bench/keyer.bench.ts), and a guarded response digests
 * every record it carries.
 */
import { SIPHASH_WASM_BASE64 } from './siphash-wasm-binary.ts'
import type { SipKey } from './siphash.ts'

/** Bytes of message the module's one page takes (its last block is read with an 8-byte load). */
export const WASM_MESSAGE_BYTES = 65_536 - 8

/** A keyed instance: write the message into `memory` from offset 0, then call `digest`. */
export interface WasmSipHash {
  readonly memory: Uint8Array
  /** The top 53 bits of SipHash-2-4 of the first `length` bytes of `memory`. */
  digest(length: number): number
}

// The few WebAssembly APIs used here (the project's TypeScript libs carry no DOM types).
declare const WebAssembly: {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown }
}

interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer }
  setKey(k0lo: number, k0hi: number, k1lo: number, k1hi: number): void
  digest(length: number): number
}

// null: this runtime cannot compile it (WebAssembly disabled, e.g. node --jitless).
let compiled: object | null | undefined

/**
 * An instance keyed with `key`, or undefined where WebAssembly is unavailable: the caller then
 * computes the same digests in JavaScript (siphash.ts).
 */
export function wasmSipHash(key: SipKey): WasmSipHash | undefined {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(SIPHASH_WASM_BASE64, 'base64'))
    } catch {
      compiled = null
    }
  }
  if (compiled === null) return undefined
  const exports = new WebAssembly.Instance(compiled, {}).exports as unknown as Exports
  exports.setKey(key.k0lo, key.k0hi, key.k1lo, key.k1hi)
  // The module never grows its memory, so this view stays valid.
  return { memory: new Uint8Array(exports.memory.buffer), digest: exports.digest }
}
