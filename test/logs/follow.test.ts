import assert from 'node:assert/strict'
import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { createKeyer } from '../../src/keyer/index.ts'
import { openLogSource } from '../../src/logs/index.ts'

function line(n: number): string {
  return `10.0.0.1 - - [01/May/2024:00:00:${String(n).padStart(2, '0')} +0000] "GET /p${n} HTTP/1.1" 200 1 "-" "curl/8"\n`
}

describe('following a log', () => {
  it('reads lines appended later and continues in the new file after rotation', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hg-follow-'))
    const file = join(dir, 'access.log')
    await writeFile(file, line(1) + line(2))
    const controller = new AbortController()
    const source = openLogSource({
      files: [file],
      keyer: createKeyer('test-secret-0123456789abcdef'),
      follow: true,
      pollMs: 5,
      signal: controller.signal,
    })
    const seen: string[] = []
    try {
      // each step waits for the events the previous write produced: driven by data, not time
      for await (const e of source) {
        seen.push(e.path)
        if (seen.length === 2) await appendFile(file, line(3))
        if (seen.length === 3) {
          await rename(file, `${file}.1`)
          await writeFile(file, line(4) + line(5))
        }
        if (seen.length === 5) controller.abort()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    assert.deepEqual(seen, ['/p1', '/p2', '/p3', '/p4', '/p5'])
  })
})
