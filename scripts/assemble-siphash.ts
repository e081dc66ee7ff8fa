// The WebAssembly text of the SipHash keyer assembled with wabt (a dev dependency): shared by
// build-siphash-wasm.ts and the test that checks the committed binary against its source.
import wabtInit from 'wabt'
import { sipHashWat } from '../src/keyer/siphash-wat.ts'

/** The binary that `sipHashWat()` assembles to. */
export async function assembleSipHash(): Promise<Uint8Array> {
  const wabt = await wabtInit()
  const module = wabt.parseWat('siphash.wat', sipHashWat())
  try {
    module.validate()
    return Uint8Array.from(module.toBinary({}).buffer)
  } finally {
    module.destroy()
  }
}
