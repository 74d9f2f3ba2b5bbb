import { ApiError } from '../http/errors'

/** Reads a body stream as UTF-8 text, cancelling it (not buffering the rest) past `maxBytes`. */
export async function readBounded(stream: ReadableStream<Uint8Array> | null | undefined, maxBytes: number): Promise<string> {
  if (!stream) return ''
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => {})
      throw new ApiError('upstream_body_too_large', `The provider's answer exceeded ${maxBytes} bytes.`)
    }
    chunks.push(value)
  }
  const all = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    all.set(chunk, offset)
    offset += chunk.byteLength
  }
  return new TextDecoder().decode(all)
}
