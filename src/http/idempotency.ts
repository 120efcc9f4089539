import { Type } from 'typebox'

/** The optional `Idempotency-Key` header: 1–255 visible ASCII characters. */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7E]+$',
      description: 'Retries with the same key and body replay the first answer (kept at least 24 h)',
    }),
  ),
})
