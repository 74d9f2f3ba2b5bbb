/** Bytes as lower-case hex, two digits each (key digests, signatures, ids). */
export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')
}
