#!/usr/bin/env node
// A clone of the repository runs the TypeScript sources directly (type stripping); the
// published package ships no src/ and runs the emitted JavaScript (Node does not strip types
// inside node_modules).
import { existsSync } from 'node:fs'

const src = new URL('../src/cli/main.ts', import.meta.url)
const entry = existsSync(src) ? src : new URL('../dist/cli/main.js', import.meta.url)
const { main } = await import(entry.href)
process.exitCode = await main(process.argv.slice(2))
