/** Query parameters whose values are credentials: signed-URL signatures, Gumnut's verify/dl, JWTs. */
const SECRET_PARAMS = /^(signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|sig|verify|dl|token|policy|key-pair-id|googleaccessid)$/i
export const REDACTED = '[redacted]'

/** A URL (or path) with credential query values and link tokens replaced, for logs. */
export function redactUrl(url: string): string {
  const [path = '', query] = url.split('?', 2)
  const safePath = path.replace(/\/r\/[^/?#]+/, `/r/${REDACTED}`)
  if (query === undefined) return safePath
  const params = new URLSearchParams(query)
  for (const name of [...params.keys()]) if (SECRET_PARAMS.test(name)) params.set(name, REDACTED)
  return `${safePath}?${params.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED)}`
}

const secretsByEnv = new WeakMap<object, string[]>()

/** Every configured secret value (and each key inside LINK_SIGNING_KEYS), longest first. */
export function configuredSecrets(env: Env): string[] {
  let secrets = secretsByEnv.get(env)
  if (!secrets) {
    const raw = [
      env.SYNC_API_KEY,
      env.GUMNUT_API_KEY,
      env.FRAMEIO_TOKEN,
      env.SPOTIFY_CLIENT_SECRET,
      env.SPOTIFY_REFRESH_TOKEN,
      env.FRAMEIO_WEBHOOK_SECRET,
      env.FRAMEIO_WEBHOOK_SECRET_PREVIOUS,
      env.CF_API_TOKEN,
      env.LINK_SIGNING_KEYS,
      env.DEV_GATEWAY_KEY,
    ]
    try {
      raw.push(...Object.values(JSON.parse(env.LINK_SIGNING_KEYS || '{}') as Record<string, string>))
    } catch {
      // malformed key ring: its raw value is already listed
    }
    secrets = raw.filter((s): s is string => typeof s === 'string' && s.length >= 6 && s !== 'sandbox').sort((a, b) => b.length - a.length)
    secretsByEnv.set(env, secrets)
  }
  return secrets
}

/** Text with every configured secret, bearer token and gateway key replaced, for logs. */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) out = out.replaceAll(secret, REDACTED)
  return out
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`)
    .replace(/\bae_[A-Za-z0-9_-]{8,}/g, REDACTED)
    .replace(/https?:\/\/[^\s"'<>]+/g, (url) => redactUrl(url))
}
