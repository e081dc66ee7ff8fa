// What users get is tested, not only what the repo runs: pack the package (prepack builds
// dist/), install the tarball into a fresh app, and import every subpath export from it.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'

const root = resolve(import.meta.dirname, '..')
const work = mkdtempSync(join(tmpdir(), 'hg-pack-'))
after(() => rmSync(work, { recursive: true, force: true }))

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' },
  })
}

describe('the published package', () => {
  it('installs from its tarball and serves every subpath export', () => {
    const out = npm(['pack', '--json', '--pack-destination', work], root)
    const [{ filename }] = JSON.parse(out.slice(out.indexOf('['))) as [{ filename: string }]
    const app = join(work, 'app')
    execFileSync('mkdir', ['-p', app])
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', type: 'module' }))
    npm(['install', '--no-audit', '--no-fund', '--omit=peer', join(work, filename)], app)

    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>
    }
    const subpaths = Object.keys(pkg.exports).filter((s) => s !== './package.json')
    const script = subpaths
      .map(
        (s, i) =>
          `const m${i} = await import('${join('harvestguard', s)}'); out['${s}'] = Object.keys(m${i}).length`,
      )
      .join('\n')
    writeFileSync(
      join(app, 'check.mjs'),
      `const out = {}\n${script}\nconsole.log(JSON.stringify(out))`,
    )
    const counts = JSON.parse(
      execFileSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8' }),
    ) as Record<string, number>
    for (const s of subpaths) assert.ok((counts[s] ?? 0) > 0, `${s} exports nothing`)

    const root0 = execFileSync(
      process.execPath,
      ['-e', "import('harvestguard').then(m => console.log(typeof m.createEngine))"],
      { cwd: app, encoding: 'utf8' },
    )
    assert.equal(root0.trim(), 'function')
    const help = execFileSync(join(app, 'node_modules/.bin/harvestguard'), ['--help'], {
      cwd: app,
      encoding: 'utf8',
    })
    assert.match(help, /check-config/)
  })
})
