/** The demo shop's static assets: small but real, so pages load like a shop's pages do. */
export const SHOP_ASSETS: Readonly<
  Record<string, { readonly type: string; readonly body: string | Uint8Array }>
> = {
  '/static/shop.css': {
    type: 'text/css; charset=utf-8',
    body: 'body{font-family:sans-serif;margin:0 auto;max-width:52em;padding:1em;color:#222}\n.item{border-bottom:1px solid #ddd;padding:.5em 0}\n.comment{margin:.4em 0;color:#444}\n.masked{color:#999}\nheader{display:flex;gap:1em;align-items:center}\n',
  },
  '/static/shop.js': {
    type: 'text/javascript; charset=utf-8',
    body: "document.addEventListener('DOMContentLoaded',()=>{for(const a of document.querySelectorAll('a[data-more]'))a.addEventListener('click',async e=>{e.preventDefault();const r=await fetch(a.dataset.more);const j=await r.json();a.insertAdjacentText('beforebegin',j.comments.map(c=>c.nickname+': '+c.text).join(' / '))})})\n",
  },
  // A 1x1 transparent PNG: enough for a browser to load and cache.
  '/static/logo.png': {
    type: 'image/png',
    body: Uint8Array.from(
      atob(
        'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
      ),
      (c) => c.charCodeAt(0),
    ),
  },
}

/** Asset paths every HTML page references, in the order a browser fetches them. */
export const PAGE_ASSETS = ['/static/shop.css', '/static/shop.js', '/static/logo.png'] as const
