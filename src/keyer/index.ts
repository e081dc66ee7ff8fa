/** Keyed digests (the Keyer port) for Node: SipHash-2-4 by default, HMAC-SHA-256 on request. */
export {
  HmacKeyer,
  KEYER_ALGORITHMS,
  KEYER_INVALID,
  MIN_KEYER_SECRET_LENGTH,
  SipHashKeyer,
  type SipHashKeyerOptions,
  createKeyer,
  type KeyerAlgorithm,
  type KeyerOptions,
  type KeyerSecret,
} from './keyer.ts'
export { sipHash24, sipKey, type SipKey } from './siphash.ts'
export { WASM_MESSAGE_BYTES, wasmSipHash, type WasmSipHash } from './siphash-wasm.ts'
