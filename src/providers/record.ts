/** Narrowing helpers for reading provider records that have passed only a shape check. */

export type JsonObject = Record<string, unknown>

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * A string field of a record, or undefined. `T` is the record's generated schema type
 * (`components['schemas']['Asset']`), so only fields the spec declares can be named.
 */
export function str<T = JsonObject>(record: unknown, name: keyof T & string): string | undefined {
  if (!isObject(record)) return undefined
  const value = record[name]
  return typeof value === 'string' ? value : undefined
}

/** Every http(s) URL among the given values, for expiry reading. */
export function urls(...values: (string | undefined | null)[]): string[] {
  return values.filter((v): v is string => typeof v === 'string' && /^https?:\/\//i.test(v))
}

/** `table[key]` for own keys only, so `toString` and friends are never a variant name. */
export function own<T extends object>(table: T, key: string): T[keyof T] | undefined {
  return Object.hasOwn(table, key) ? table[key as keyof T] : undefined
}

/** Any field of a record the spec declares (`T`, its generated schema type), unnarrowed. */
export function field<T = JsonObject>(record: unknown, name: keyof T & string): unknown {
  return isObject(record) ? record[name] : undefined
}
