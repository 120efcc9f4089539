import { Type } from 'typebox'
import { adminHook } from '../platform/http/admin.js'
import { csvLine, sendCsv } from '../platform/http/csv.js'
import { Id, problems, security } from '../platform/http/schemas.js'
import type { Routes } from '../platform/http/types.js'
import { CodesCsv, CodesQuery, CodesSchema, MAX_CODES_PER_REQUEST, NewCodesBody, NewCodesSchema } from './schemas.js'
import type { PresaleCode, PresaleCodes } from './service.js'

const iso = (d: Date | null) => d?.toISOString() ?? null

const codeView = (c: PresaleCode) => ({ ...c, firstUsedAt: iso(c.firstUsedAt), createdAt: c.createdAt.toISOString() })

const CSV_HEADER = ['code', 'maxUses', 'uses', 'firstUsedBy', 'firstUsedAt', 'createdAt'] as const

/** The codes as CSV, sent page by page as they are read: a header row, then one row per code. */
async function* csvOf(pages: AsyncIterable<PresaleCode[]>) {
  yield csvLine(CSV_HEADER)
  for await (const codes of pages) {
    yield codes.map((c) => csvLine([c.code, c.maxUses, c.uses, c.firstUsedBy, iso(c.firstUsedAt), c.createdAt.toISOString()])).join('')
  }
}

/** A file name for the download: the concert's id, with anything but letters, digits, `_` and `-` replaced. */
const csvFileName = (concertId: string) => `presale-codes-${concertId.replace(/[^A-Za-z0-9_-]/g, '_')}.csv`

export const presaleRoutes: Routes<{ presale: PresaleCodes; adminKey: string }> = (app, { presale, adminKey }) => {
  const admin = adminHook(adminKey)

  app.post(
    '/v1/admin/concerts/:concertId/presale-codes',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'Make presale codes for a concert',
        description: `Up to ${MAX_CODES_PER_REQUEST} codes a request. During the presale (from the line's opening until saleOpensAt, on a concert with presaleOpensAt) a new entry in the line needs one; each code lets in maxUses distinct fans, and each of them may join with it again.`,
        security: security.admin,
        params: Type.Object({ concertId: Id }),
        body: NewCodesBody,
        response: { 201: NewCodesSchema, ...problems(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { count, maxUses } = request.body
      const codes = await presale.generate(request.params.concertId, count, maxUses)
      return reply.status(201).send({ codes })
    },
  )

  app.get(
    '/v1/admin/concerts/:concertId/presale-codes',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: "A concert's presale codes with their uses: a page as JSON, or every code as CSV for a mail merge",
        description:
          'JSON: up to `limit` codes in the order of the codes, after `cursor`, with the counts of all of them. CSV (`format=csv`): every code, as an attachment; `limit` and `cursor` do not apply.',
        security: security.admin,
        params: Type.Object({ concertId: Id }),
        querystring: CodesQuery,
        response: {
          200: { content: { 'application/json': { schema: CodesSchema }, 'text/csv': { schema: CodesCsv } } },
          ...problems(400, 401, 404),
        },
      },
    },
    async (request, reply) => {
      const { concertId } = request.params
      const { format, limit, cursor } = request.query
      if (format !== 'csv') {
        const page = await presale.list(concertId, limit, cursor)
        return { ...page, items: page.items.map(codeView) }
      }
      return sendCsv(reply, csvFileName(concertId), csvOf(await presale.everyCode(concertId)))
    },
  )
}
