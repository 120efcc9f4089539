import { Type } from 'typebox'
import { DateTime, NullableDateTime } from '../platform/http/schemas.js'
import { CODE_BITS } from './codes.js'

export const MAX_CODES_PER_REQUEST = 100_000
const MAX_USES = 1000

export const NewCodesBody = Type.Object(
  {
    count: Type.Integer({ minimum: 1, maximum: MAX_CODES_PER_REQUEST, description: 'how many codes to make' }),
    maxUses: Type.Integer({ minimum: 1, maximum: MAX_USES, default: 1, description: 'distinct fans each code lets in (default 1)' }),
  },
  { additionalProperties: false },
)

export const NewCodesSchema = Type.Object({
  codes: Type.Array(Type.String(), { description: `fresh codes, ${CODE_BITS} random bits each, as XXXXX-XXXXX-XXXXX` }),
})

export const CodesQuery = Type.Object(
  {
    format: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: 'csv: every code at once, for a mail merge' }),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000, description: 'codes on a JSON page' }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "the previous page's nextCursor" })),
  },
  { additionalProperties: false },
)

export const CodesSchema = Type.Object({
  total: Type.Integer({ description: 'codes of the concert' }),
  used: Type.Integer({ description: 'codes used at least once' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as cursor for the next page; null on the last' }),
  items: Type.Array(
    Type.Object({
      code: Type.String(),
      maxUses: Type.Integer(),
      uses: Type.Integer({ description: 'distinct fans who joined with it' }),
      firstUsedBy: Type.Union([Type.String(), Type.Null()], { description: 'the user it belongs to: the first who used it' }),
      firstUsedAt: NullableDateTime,
      createdAt: DateTime,
    }),
  ),
})

export const CodesCsv = Type.String({
  description: 'CSV (RFC 4180): a header row `code,maxUses,uses,firstUsedBy,firstUsedAt,createdAt`, then one row per code',
})
