/**
 * Signed media URLs in the formats real providers hand out (PROVIDERS.md), pointing at the
 * sandbox's own media route. The signatures are decorative; the expiry in each one is real and
 * enforced by the sandbox media route, so an expired URL fails as it would in production.
 */

/** A decorative signature: 32 hex digits fixed by what is signed, so equal requests get equal bytes (the differential tests compare them). */
function fakeSig(signed: string): string {
  let out = ''
  for (let seed = 0; seed < 4; seed++) {
    let h = (0x811c9dc5 ^ seed) >>> 0
    for (let i = 0; i < signed.length; i++) h = Math.imul(h ^ signed.charCodeAt(i), 0x01000193) >>> 0
    out += h.toString(16).padStart(8, '0')
  }
  return out
}

function amzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
}

function base64url(text: string): string {
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export type UrlFormat = 'plain' | 'cloudfront' | 'cloudfront-policy' | 's3' | 'gcs-v4' | 'gcs-v2' | 'azure' | 'jwt' | 'opaque'

/** `base` carrying an expiry `lifetimeS` seconds from `now` in the given signed-URL format. */
export function signUrl(base: string, format: UrlFormat, lifetimeS: number, now = Date.now()): string {
  const url = new URL(base)
  const q = url.searchParams
  const expiresS = Math.floor(now / 1000) + lifetimeS
  switch (format) {
    case 'plain':
      break
    case 'cloudfront':
      q.set('Expires', String(expiresS))
      q.set('Signature', fakeSig(`${base}|${expiresS}`))
      q.set('Key-Pair-Id', 'APKASANDBOX')
      break
    case 'cloudfront-policy': {
      const policy = JSON.stringify({ Statement: [{ Resource: base, Condition: { DateLessThan: { 'AWS:EpochTime': expiresS } } }] })
      q.set('Policy', btoa(policy).replace(/\+/g, '-').replace(/=/g, '_').replace(/\//g, '~'))
      q.set('Signature', fakeSig(`${base}|${expiresS}`))
      q.set('Key-Pair-Id', 'APKASANDBOX')
      break
    }
    case 's3':
      q.set('X-Amz-Algorithm', 'AWS4-HMAC-SHA256')
      q.set('X-Amz-Credential', 'AKIASANDBOX/20261101/us-east-1/s3/aws4_request')
      q.set('X-Amz-Date', amzDate(now))
      q.set('X-Amz-Expires', String(lifetimeS))
      q.set('X-Amz-SignedHeaders', 'host')
      q.set('X-Amz-Signature', fakeSig(`${base}|${expiresS}`))
      break
    case 'gcs-v4':
      q.set('X-Goog-Algorithm', 'GOOG4-RSA-SHA256')
      q.set('X-Goog-Date', amzDate(now))
      q.set('X-Goog-Expires', String(lifetimeS))
      q.set('X-Goog-Signature', fakeSig(`${base}|${expiresS}`))
      break
    case 'gcs-v2':
      q.set('GoogleAccessId', 'sandbox@asset-edge.iam.gserviceaccount.com')
      q.set('Expires', String(expiresS))
      q.set('Signature', fakeSig(`${base}|${expiresS}`))
      break
    case 'azure':
      q.set('sv', '2022-11-02')
      q.set('se', new Date(expiresS * 1000).toISOString().replace(/\.\d{3}/, ''))
      q.set('sp', 'r')
      q.set('sig', fakeSig(`${base}|${expiresS}`))
      break
    case 'jwt':
      q.set('token', `${base64url('{"alg":"HS256","typ":"JWT"}')}.${base64url(JSON.stringify({ exp: expiresS }))}.${fakeSig(`${base}|${expiresS}`)}`)
      break
    case 'opaque':
      // Opaque signatures (`verify`/`dl`): the expiry inside is visible only to the sandbox.
      q.set('verify', `${base64url(String(expiresS))}.${fakeSig(`${base}|${expiresS}`)}`)
      q.set('dl', '0')
      break
  }
  return url.toString()
}

/** The expiry an opaque sandbox URL hides in `verify`, for the sandbox media route only. */
export function hiddenExpiry(url: URL): number | undefined {
  const verify = url.searchParams.get('verify')
  const encoded = verify?.split('.')[0]
  if (!encoded) return undefined
  try {
    const seconds = Number(atob(encoded.replace(/-/g, '+').replace(/_/g, '/')))
    return Number.isFinite(seconds) ? seconds * 1000 : undefined
  } catch {
    return undefined
  }
}
