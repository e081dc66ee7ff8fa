/**
 * What the end-to-end CLI tests share: the `harvestguard` binary run as a real `proxy` process,
 * and a loopback application whose comment pages name distinct people.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'

export const HARVESTGUARD_BIN = join(import.meta.dirname, '../../bin/harvestguard.js')

/** The comments route of {@link startCommentsApp}, as lines under `routes:` in a config. */
export const COMMENTS_ROUTE_YAML = `  - route: GET /api/items/:itemId/comments
    resource: api
    exposes:
      - each: '$.comments[*]'
        subject: 'user:{.userId}'
        fields: { id: '.userId', name: '.nickname', comment: '.text' }
`

/**
 * An application on loopback: page P of any item's comments names `perPage` distinct users,
 * ids from `firstUserId + P * perPage`. Resolves with the server and its URL.
 */
export async function startCommentsApp(
  firstUserId: number,
  perPage: number,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const page = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? 0)
    const comments = Array.from({ length: perPage }, (_, i) => ({
      userId: firstUserId + page * perPage + i,
      nickname: `buyer ${page}-${i}`,
      text: 'fine',
    }))
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ comments }))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

/** A spawned `harvestguard proxy`. */
export interface ProxyProcess {
  readonly child: ChildProcess
  /** The proxy's URL once it listens; rejects (with its stderr) if it exits first. */
  readonly url: Promise<string>
  /** Resolves with [code, signal] when the process exits. */
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>
  stdout(): string
  stderr(): string
}

/** Options of {@link spawnProxy}. */
export interface SpawnProxyOptions {
  readonly config: string
  readonly upstream: string
  /** More command-line arguments (e.g. `--no-journal`). */
  readonly args?: readonly string[]
  readonly cwd?: string
  readonly env?: NodeJS.ProcessEnv
}

/** Spawns `harvestguard proxy --config … --listen 127.0.0.1:0 --upstream …`. */
export function spawnProxy(options: SpawnProxyOptions): ProxyProcess {
  const child = spawn(
    process.execPath,
    [
      HARVESTGUARD_BIN,
      'proxy',
      '--config',
      options.config,
      '--listen',
      '127.0.0.1:0',
      '--upstream',
      options.upstream,
      ...(options.args ?? []),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
    },
  )
  let stdout = ''
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString()
      const m = /listening on (http:\/\/\S+)/.exec(stdout)
      if (m !== null) resolve(m[1] as string)
    })
    child.once('exit', (code) => reject(new Error(`proxy exited (${code}): ${stderr}`)))
  })
  // A test that never awaits the URL (it failed earlier) must not see an unhandled rejection.
  url.catch(() => {})
  return { child, url, exited, stdout: () => stdout, stderr: () => stderr }
}
