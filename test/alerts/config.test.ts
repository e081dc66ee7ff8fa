/**
 * The `alerts:` section: zero config is no alerts; every mistake is reported at its
 * file:line:column; a webhook secret is resolved like the config's other secrets and never
 * printed; `check-config --print` hides a webhook URL's path (a Slack URL's path is its key).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { after, describe, it } from 'node:test'
import { createAlerting } from '../../src/alerts/index.ts'
import { checkConfigCommand } from '../../src/cli/commands/check-config.ts'
import { runCli } from '../../src/cli/program.ts'
import { parseConfig } from '../../src/config/index.ts'
import { compilePolicy, ConfigError, type Decision } from '../../src/core/index.ts'

const ENV = { HARVESTGUARD_SECRET: 'alerts-config-test-secret-0123' }
const HOOK_KEY = 'hook-hmac-key-that-must-never-print'

function issuesOf(text: string, env: Record<string, string> = ENV): string[] {
  try {
    parseConfig(text, 'hg.yaml', { env })
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error))
    return error.issues.map((i) => `${i.file}:${i.line}:${i.column} ${i.path}: ${i.message}`)
  }
  assert.fail('expected a ConfigError')
}

function decision(action: Decision['action'], timeMs: number): Decision {
  return {
    principal: 'ip:203.0.113.9',
    actor: 'ip:203.0.113.9',
    action,
    score: 70,
    readings: [],
    linked: [],
    timeMs,
    expiresAtMs: timeMs + 3_600_000,
    shadow: false,
  }
}

describe('alerts: in the configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hg-alerts-config-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('zero config: no sink, no gate', () => {
    const config = parseConfig('', 'hg.yaml', { env: ENV })
    assert.deepEqual(config.alerts.webhooks, [])
    assert.equal(config.alerts.jsonl, undefined)
    assert.equal(config.alerts.minAction, 'throttle')
    const alerting = createAlerting(config.alerts, {
      policy: compilePolicy(config.policy as Parameters<typeof compilePolicy>[0]),
    })
    assert.equal(alerting.gate, undefined)
    assert.equal(alerting.describe, 'alerts off')
  })

  it('parses a webhook with its defaults and durations in milliseconds', () => {
    const config = parseConfig(
      `alerts:\n  webhooks:\n    - url: https://siem.example/hooks/hg\n      secret: { env: HOOK }\n      timeout: 2s\n`,
      'hg.yaml',
      { env: { ...ENV, HOOK: HOOK_KEY } },
    )
    const [w] = config.alerts.webhooks
    assert.ok(w !== undefined)
    assert.equal(w.url, 'https://siem.example/hooks/hg')
    assert.equal(w.format, 'json')
    assert.equal(w.timeoutMs, 2000)
    assert.equal(w.retries, 4)
    assert.equal(w.backoffMs, 500)
    assert.equal(w.maxBackoffMs, 30_000)
    assert.equal(w.secret?.reveal(), HOOK_KEY)
    assert.equal(w.secret?.source, 'env:HOOK')
    // redacted wherever the config is printed
    assert.ok(!JSON.stringify(config).includes(HOOK_KEY))
    assert.ok(!inspect(config, { depth: 10 }).includes(HOOK_KEY))
    assert.ok(!String(w.secret).includes(HOOK_KEY))
  })

  it('names each wrong field with file:line:column', () => {
    const issues = issuesOf(
      [
        'alerts:', //                                  1
        '  minAction: allow', //                       2
        '  webhooks:', //                              3
        '    - url: ftp://files.example/x', //         4
        '      format: xml', //                        5
        '      retries: -1', //                        6
        '      timeout: 5', //                         7
        '    - url: https://ok.example/', //           8
        '      secret: short', //                      9
        '      retry: 3', //                           10
        '  jsonl: {}', //                              11
      ].join('\n'),
    )
    assert.deepEqual(issues, [
      'hg.yaml:2:14 alerts.minAction: expected one of observe, mask, throttle, challenge, block, got "allow"',
      'hg.yaml:4:12 alerts.webhooks[0].url: expected an http:// or https:// URL, got "ftp://files.example/x"',
      'hg.yaml:5:15 alerts.webhooks[0].format: expected one of json, slack, got "xml"',
      'hg.yaml:6:16 alerts.webhooks[0].retries: expected an integer from 0 to 20, got -1',
      "hg.yaml:7:16 alerts.webhooks[0].timeout: expected a duration like '90s', '15m', '24h' or '30d' from 100ms to 5m, got 5",
      'hg.yaml:9:15 alerts.webhooks[1].secret: expected at least 16 characters (a short secret makes digests guessable)',
      'hg.yaml:10:7 alerts.webhooks[1].retry: unknown key',
      'hg.yaml:11:3 alerts.jsonl.path: required key is missing (expected a string)',
    ])
  })

  it('reports an unset secret variable at the webhook secret, never echoing a value', () => {
    const issues = issuesOf(
      'alerts:\n  webhooks:\n    - url: http://127.0.0.1:9/x\n      secret: { env: NOT_SET_ANYWHERE }\n',
    )
    assert.deepEqual(issues, [
      'hg.yaml:4:22 alerts.webhooks[0].secret.env: environment variable NOT_SET_ANYWHERE is not set',
    ])
  })

  it('check-config summarises alerts and --print hides the secret and the webhook path', async () => {
    const file = join(dir, 'hg.yaml')
    writeFileSync(
      file,
      `alerts:
  minAction: block
  webhooks:
    - url: https://hooks.slack.example/services/T0/B0/slackkeypath
      format: slack
    - url: https://siem.example/in
      secret: { env: HOOK }
  jsonl: { path: ${join(dir, 'alerts.jsonl')} }
`,
    )
    let out = ''
    let err = ''
    const code = await runCli(['check-config', '--print', file], [checkConfigCommand], {
      out: (t) => (out += t),
      err: (t) => (err += t),
      env: { ...ENV, HOOK: HOOK_KEY },
    })
    assert.equal(code, 0, err)
    assert.match(
      out,
      /alerts from block to webhook https:\/\/hooks\.slack\.example, webhook https:\/\/siem\.example, file /,
    )
    assert.ok(!out.includes(HOOK_KEY), 'the HMAC key is not printed')
    assert.ok(!out.includes('slackkeypath'), 'the Slack URL path is not printed')
    assert.match(out, /"url": "https:\/\/hooks\.slack\.example\/\*\*\*"/)
    assert.match(out, /"secret": "\[redacted\] \(env:HOOK\)"/)
  })

  it('a gate from config raises one alert per escalation into the JSON-lines file', async () => {
    const path = join(dir, 'gate.jsonl')
    const config = parseConfig(
      `alerts:\n  minAction: mask\n  jsonl: { path: ${path} }\n`,
      'hg.yaml',
      {
        env: ENV,
      },
    )
    const alerting = createAlerting(config.alerts, {
      policy: compilePolicy(config.policy as Parameters<typeof compilePolicy>[0]),
    })
    const gate = alerting.gate
    assert.ok(gate !== undefined)
    gate.consider(decision('observe', 1000)) // below minAction
    gate.consider(decision('mask', 2000))
    for (let t = 3000; t < 50_000; t += 1000) gate.consider(decision('mask', t)) // renewals
    gate.consider(decision('block', 60_000))
    assert.equal(await alerting.close(), 0)
    const lines = readFileSync(path, 'utf8').trim().split('\n')
    assert.deepEqual(
      lines.map((l) => {
        const a = JSON.parse(l) as { previousAction: string; action: string }
        return `${a.previousAction}->${a.action}`
      }),
      ['allow->mask', 'mask->block'],
    )
  })
})
