/**
 * The proof-of-work challenge for browsers: an interstitial page whose script finds a nonce so
 * that SHA-256(challenge + nonce) starts with `difficultyBits` zero bits, then trades it for a
 * signed, expiring pass cookie bound to the client's network and user agent. Stateless: the
 * challenge and the pass are HMACs, so any guard of a fleet with the same secret accepts them.
 * A browser pays about a second once; a harvester rotating addresses pays it per /24 and agent.
 */
import { HarvestGuardError } from '../core/index.ts'
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/** Code raised when the challenge secret is missing or too short. */
export const HTTP_CHALLENGE_SECRET = 'HG_HTTP_CHALLENGE_SECRET'

/** Options of {@link createChallenge}. */
export interface ChallengeOptions {
  /** HMAC secret (at least 16 characters); shared by a fleet. */
  readonly secret: string
  /** Leading zero bits the proof must have (~2^bits hashes). @default 16 */
  readonly difficultyBits?: number
  /** How long a pass cookie is valid, ms. @default 3_600_000 */
  readonly passTtlMs?: number
  /** How long a served challenge can be answered, ms. @default 300_000 */
  readonly challengeTtlMs?: number
  /** Pass cookie name. @default 'hg_pass' */
  readonly cookieName?: string
  /** Path the page submits its proof to. @default '/.harvestguard/verify' */
  readonly verifyPath?: string
}

/** The outcome of a proof submission. */
export type VerifyResult =
  | { readonly ok: true; readonly cookie: string; readonly returnTo: string }
  | { readonly ok: false; readonly reason: string }

/** A compiled challenge: page, proof check and pass check. */
export interface Challenge {
  readonly cookieName: string
  readonly verifyPath: string
  readonly difficultyBits: number
  /** The interstitial HTML for a client binding. */
  page(binding: string, nowMs: number, returnTo: string): string
  /** Checks a submitted proof (query string of the verify request). */
  verify(binding: string, query: string, nowMs: number): VerifyResult
  /** Whether a pass cookie value is valid for this binding now. */
  passes(binding: string, cookie: string | undefined, nowMs: number): boolean
}

/** Leading zero bits of a digest. */
export function leadingZeroBits(digest: Uint8Array): number {
  let bits = 0
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8
      continue
    }
    return bits + Math.clz32(byte) - 24
  }
  return bits
}

/** A path on this site only: `/x?y`, never `//host` or `https://host` (no open redirect). */
export function safeReturnPath(value: string | undefined): string {
  if (value === undefined || !value.startsWith('/') || value.startsWith('//')) return '/'
  if (value.includes('\\') || /[\r\n]/.test(value)) return '/'
  return value
}

// Small synchronous SHA-256 for the page: crypto.subtle exists only in secure contexts, and a
// shop behind plain HTTP must still be solvable.
const PAGE_SCRIPT = `(function(){var K=[],H=[],i=0,p=2;function f(x){return(x-(x|0))*4294967296|0}
for(;i<64;p++){var q=1;for(var d=2;d*d<=p;d++)if(p%d==0){q=0;break}if(q){if(i<8)H[i]=f(Math.pow(p,1/2));K[i++]=f(Math.pow(p,1/3))}}
function sha(s){var m=unescape(encodeURIComponent(s)),l=m.length,w=[],h=H.slice(),j;for(j=0;j<l;j++)w[j>>2]|=m.charCodeAt(j)<<(24-8*(j&3));
w[l>>2]|=0x80<<(24-8*(l&3));var n=((l+8)>>6)+1<<4;for(j=(l>>2)+1;j<n;j++)w[j]=w[j]|0;w[n-1]=l*8;
for(j=0;j<n;j+=16){var W=w.slice(j,j+16),a=h[0],b=h[1],c=h[2],d=h[3],e=h[4],g=h[5],k=h[6],o=h[7];
for(var t=0;t<64;t++){if(t>15){var x=W[t-15],y=W[t-2];W[t]=(((x>>>7|x<<25)^(x>>>18|x<<14)^(x>>>3))+W[t-7]+((y>>>17|y<<15)^(y>>>19|y<<13)^(y>>>10))+W[t-16])|0}
var T=(o+((e>>>6|e<<26)^(e>>>11|e<<21)^(e>>>25|e<<7))+((e&g)^(~e&k))+K[t]+W[t])|0,U=(((a>>>2|a<<30)^(a>>>13|a<<19)^(a>>>22|a<<10))+((a&b)^(a&c)^(b&c)))|0;
o=k;k=g;g=e;e=(d+T)|0;d=c;c=b;b=a;a=(T+U)|0}h[0]=h[0]+a|0;h[1]=h[1]+b|0;h[2]=h[2]+c|0;h[3]=h[3]+d|0;h[4]=h[4]+e|0;h[5]=h[5]+g|0;h[6]=h[6]+k|0;h[7]=h[7]+o|0}return h}
function zeros(h){var z=0;for(var j=0;j<8;j++){if(h[j]===0){z+=32;continue}return z+Math.clz32(h[j])}return z}
var el=document.getElementById('hg'),c=el.dataset.c,bits=+el.dataset.bits,r=el.dataset.r,v=el.dataset.v,nonce=0;
function step(){for(var e=nonce+5000;nonce<e;nonce++){if(zeros(sha(c+':'+nonce))>=bits){location.replace(v+'?c='+encodeURIComponent(c)+'&n='+nonce+'&r='+encodeURIComponent(r));return}}setTimeout(step,0)}step()})()`

const escapeAttr = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')

function same(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))
}

/** Creates a challenge; throws `HG_HTTP_CHALLENGE_SECRET` on a missing or short secret. */
export function createChallenge(options: ChallengeOptions): Challenge {
  if (typeof options.secret !== 'string' || options.secret.length < 16)
    throw new HarvestGuardError(
      HTTP_CHALLENGE_SECRET,
      'challenge.secret must be a string of at least 16 characters (set it in config or HARVESTGUARD_SECRET)',
    )
  const secret = options.secret
  const bits = options.difficultyBits ?? 16
  const passTtlMs = options.passTtlMs ?? 3_600_000
  const challengeTtlMs = options.challengeTtlMs ?? 300_000
  const cookieName = options.cookieName ?? 'hg_pass'
  const verifyPath = options.verifyPath ?? '/.harvestguard/verify'
  const mac = (text: string): string =>
    createHmac('sha256', secret).update(text).digest('base64url').slice(0, 32)

  return {
    cookieName,
    verifyPath,
    difficultyBits: bits,
    page(binding, nowMs, returnTo) {
      const c = `${nowMs}.${bits}.${mac(`c|${binding}|${nowMs}|${bits}`)}`
      return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Checking your browser</title>
<style>body{font:16px system-ui,sans-serif;max-width:36em;margin:15vh auto;padding:0 1em;color:#222}</style></head>
<body><h1>One moment…</h1><p>This site checks that it is talking to a browser. The page continues by itself in a second or two.</p>
<noscript><p><strong>Please enable JavaScript to continue.</strong> Automated clients: see the <code>Retry-After</code> header or contact the site.</p></noscript>
<div id="hg" data-c="${escapeAttr(c)}" data-bits="${bits}" data-r="${escapeAttr(safeReturnPath(returnTo))}" data-v="${escapeAttr(verifyPath)}"></div>
<script>${PAGE_SCRIPT}</script></body></html>`
    },
    verify(binding, query, nowMs) {
      const params = new URLSearchParams(query)
      const c = params.get('c') ?? ''
      const n = params.get('n') ?? ''
      const parts = c.split('.')
      if (parts.length !== 3 || !/^\d{1,12}$/.test(n))
        return { ok: false, reason: 'malformed proof' }
      const issuedMs = Number(parts[0])
      const cBits = Number(parts[1])
      if (!same(parts[2]!, mac(`c|${binding}|${parts[0]}|${parts[1]}`)))
        return { ok: false, reason: 'challenge not issued to this client' }
      if (!(nowMs - issuedMs <= challengeTtlMs && issuedMs <= nowMs + 60_000))
        return { ok: false, reason: 'challenge expired' }
      if (cBits < bits) return { ok: false, reason: 'challenge too easy' }
      const digest = createHash('sha256').update(`${c}:${n}`).digest()
      if (leadingZeroBits(digest) < cBits) return { ok: false, reason: 'proof of work not met' }
      const expiresMs = nowMs + passTtlMs
      return {
        ok: true,
        cookie: `${expiresMs}.${mac(`p|${binding}|${expiresMs}`)}`,
        returnTo: safeReturnPath(params.get('r') ?? undefined),
      }
    },
    passes(binding, cookie, nowMs) {
      if (cookie === undefined) return false
      const dot = cookie.indexOf('.')
      if (dot <= 0) return false
      const expires = cookie.slice(0, dot)
      if (!/^\d{1,15}$/.test(expires) || Number(expires) < nowMs) return false
      return same(cookie.slice(dot + 1), mac(`p|${binding}|${expires}`))
    },
  }
}
