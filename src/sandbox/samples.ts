/** Sample ids the sandbox providers answer (docs/development.md). Providers with UUID ids share one set. */
export const SAMPLE = {
  adAccount: 'ce4ff15e-f04d-48b9-9ddf-fb3c85fbd57a',
  image: '11111111-1111-4111-8111-111111111111',
  video: '22222222-2222-4222-8222-222222222222',
  audio: '33333333-3333-4333-8333-333333333333',
  processing: '44444444-4444-4444-8444-444444444444',
  deleted: '55555555-5555-4555-8555-555555555555',
  unknown: '99999999-9999-4999-8999-999999999999',
  fail500: 'eeeeeeee-0000-4000-8000-000000000500',
  fail429: 'eeeeeeee-0000-4000-8000-000000000429',
  fail401: 'eeeeeeee-0000-4000-8000-000000000401',
  fail403: 'eeeeeeee-0000-4000-8000-000000000403',
  fail400: 'eeeeeeee-0000-4000-8000-000000000400',
  hang: 'eeeeeeee-0000-4000-8000-000000000504',
  malformed: 'eeeeeeee-0000-4000-8000-0000000000ba',
  fail502: 'eeeeeeee-0000-4000-8000-000000000502',
  fail503: 'eeeeeeee-0000-4000-8000-000000000503',
  refused: 'eeeeeeee-0000-4000-8000-0000000000cc',
  truncated: 'eeeeeeee-0000-4000-8000-0000000000d0',
  wrongType: 'eeeeeeee-0000-4000-8000-0000000000c7',
  oversized: 'eeeeeeee-0000-4000-8000-0000000000b1',
} as const

export const FAULTS = [
  'fail500',
  'fail502',
  'fail503',
  'fail429',
  'fail401',
  'fail403',
  'fail400',
  'hang',
  'refused',
  'malformed',
  'truncated',
  'wrongType',
  'oversized',
] as const
export type Fault = (typeof FAULTS)[number]

/** A provider's own sample ids, where its ids are not UUIDs: the same names as `SAMPLE`. */
export type SampleIds = { readonly [name in Exclude<keyof typeof SAMPLE, 'adAccount' | 'audio'>]: string }
