/** Byte encodings the gateway writes: base64url (link tokens, ETags, account names) and hex (digests, ids, signatures). */

/** Unpadded base64url (RFC 4648 §5) of raw bytes. */
export function encodeBase64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/**
 * Strict unpadded base64url to bytes, or undefined. Only the canonical spelling is accepted: the
 * unused low bits of the last character must be zero, so no two strings decode to the same bytes
 * and a changed character never yields an equal signature.
 */
export function decodeBase64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined
  let binary: string
  try {
    binary = atob(
      text
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(text.length / 4) * 4, '='),
    )
  } catch {
    return undefined
  }
  const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0))
  return encodeBase64url(bytes) === text ? bytes : undefined
}

/** Bytes as lower-case hex, two digits each (key digests, signatures, ids). */
export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')
}
