#!/usr/bin/env node
// The published package runs the emitted JavaScript (Node does not strip types inside
// node_modules); a clone of the repository runs the TypeScript sources directly.
import { existsSync } from 'node:fs'

const dist = new URL('../dist/cli/main.js', import.meta.url)
const entry = existsSync(dist) ? dist : new URL('../src/cli/main.ts', import.meta.url)
await import(entry.href)
