/**
 * Why a webhook destination is refused, or undefined when it is acceptable. Outside the dev entry
 * (`sandbox` false) it must be https on a public host: no loopback, private, link-local, CGNAT or
 * unspecified address literals, no `localhost`, no credentials in the URL. (Host names are not
 * resolved here: a Worker's outbound fetch never reaches private networks, so a public name that
 * resolves to a private address is not a way in either.)
 */
export function destinationProblem(raw: string, sandbox: boolean): string | undefined {
  if (raw.length > 2048) return 'The URL is longer than 2048 characters.'
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'The URL is not an absolute URL.'
  }
  if (url.username || url.password) return 'The URL may not carry credentials.'
  if (url.protocol !== 'https:' && !(sandbox && url.protocol === 'http:')) return 'The URL must be https.'
  if (sandbox) return undefined
  const host = url.hostname.toLowerCase().replace(/\.$/, '')
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal')) {
    return 'The URL names a local host.'
  }
  if (isPrivateAddress(host)) return 'The URL names a private, loopback or link-local address.'
  return undefined
}

function ipv4(host: string): number[] | undefined {
  const parts = host.split('.')
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined
  return parts.map(Number)
}

/** True for an IP literal (v4, or v6 in brackets) that is not a public unicast address. */
export function isPrivateAddress(host: string): boolean {
  const v4 = ipv4(host)
  if (v4) return privateV4(v4)
  if (!host.startsWith('[')) return /^\d+$/.test(host) || /^0x[0-9a-f]+$/i.test(host) // 2130706433, 0x7f000001: refused outright
  const v6 = host.slice(1, -1).toLowerCase()
  if (v6 === '::' || v6 === '::1') return true
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(v6)?.[1]
  if (mapped) return privateV4(ipv4(mapped) ?? [0])
  if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(v6)) return true // v4-mapped in hex form: refuse rather than decode
  const first = Number.parseInt(v6.split(':')[0] || '0', 16)
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00 // unique local, link-local, multicast
}

function privateV4([a = 0, b = 0]: number[]): boolean {
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    a >= 224
  )
}
