/**
 * Test-owned Redis servers on spare loopback ports: a standalone one the outage test may kill
 * (never the machine's), and a 3-node Cluster built with `redis-cli --cluster create`. Everything
 * lives in a temporary directory removed on stop.
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'

/** A port that was free a moment ago (bound to port 0, then released). */
export async function sparePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address !== 'object') throw new Error('no port')
  return address.port
}

/** One redis-server process. */
export interface RedisProcess {
  readonly port: number
  readonly dir: string
  process: ChildProcess
  /** SIGKILL (an outage) and wait for the exit. */
  kill(): Promise<void>
  /** Starts it again on the same port and directory. */
  restart(): Promise<void>
  /** Stops it and removes its directory. */
  stop(): Promise<void>
}

function launch(port: number, dir: string, extra: readonly string[]): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  return new Promise((resolve, reject) => {
    let log = ''
    const onData = (chunk: Buffer): void => {
      log += chunk.toString()
      if (log.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData)
        child.stdout?.resume()
        resolve(child)
      }
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code) =>
      reject(new Error(`redis-server on ${port} exited (${code}): ${log}`)),
    )
    child.once('error', reject)
  })
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/** Starts a standalone redis-server on a spare port. */
export async function startRedis(extra: readonly string[] = []): Promise<RedisProcess> {
  const port = await sparePort()
  const dir = mkdtempSync(join(tmpdir(), 'hg-redis-'))
  const p: RedisProcess = {
    port,
    dir,
    process: await launch(port, dir, extra),
    async kill() {
      p.process.kill('SIGKILL')
      await exited(p.process)
    },
    async restart() {
      p.process = await launch(port, dir, extra)
    },
    async stop() {
      p.process.kill('SIGKILL')
      await exited(p.process)
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return p
}

/** A running 3-node cluster (masters only). */
export interface RedisClusterProcesses {
  readonly nodes: readonly RedisProcess[]
  stop(): Promise<void>
}

/** Starts `n` cluster-enabled servers and joins them with `redis-cli --cluster create`. */
export async function startRedisCluster(n = 3): Promise<RedisClusterProcesses> {
  const nodes: RedisProcess[] = []
  try {
    for (let i = 0; i < n; i++) {
      nodes.push(
        await startRedis([
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '2000',
        ]),
      )
    }
    const created = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((x) => `127.0.0.1:${x.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8' },
    )
    if (created.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`)
    // the nodes agree on the slot map a moment after `create` returns: wait for it (bounded)
    for (let attempt = 0; ; attempt++) {
      const states = nodes.map(
        (x) =>
          spawnSync('redis-cli', ['-p', String(x.port), 'cluster', 'info'], { encoding: 'utf8' })
            .stdout,
      )
      if (states.every((s) => s.includes('cluster_state:ok'))) break
      if (attempt > 200) throw new Error(`cluster did not converge: ${states.join('\n')}`)
      await delay(50)
    }
  } catch (error) {
    for (const x of nodes) await x.stop()
    throw error
  }
  return {
    nodes,
    async stop() {
      for (const x of nodes) await x.stop()
    },
  }
}

/** Sum of `calls` over INFO commandstats (every command the server executed). */
export function commandCalls(info: string): number {
  let total = 0
  for (const m of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) total += Number(m[1])
  return total
}
