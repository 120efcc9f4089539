import fc from 'fast-check'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { admin, admittedFans, chargeBalance, createConcert, holdSeat, json, sharedTestApp, type TestApp } from '../support/app.js'
import { databaseTargets } from '../support/stores.js'

/** Every table's row count, and every sum of money: what no refused request may change. */
async function state(t: TestApp) {
  const { rows } = await sql<Record<string, number>>`
    select
      (select count(*)::int from users) as users,
      (select count(*)::int from concerts) as concerts,
      (select count(*)::int from schedules) as schedules,
      (select count(*)::int from seats where status <> 'AVAILABLE') as taken_seats,
      (select count(*)::int from reservations) as reservations,
      (select count(*)::int from reservations where status = 'CONFIRMED') as confirmed,
      (select count(*)::int from payments) as payments,
      (select coalesce(sum(balance), 0)::bigint from wallets) as balances,
      (select count(*)::int from balance_ledger) as ledger,
      (select count(*)::int from idempotency_keys) as idempotency_keys,
      (select count(*)::int from queue_entries) as queue_entries,
      (select count(*)::int from queue_entries where status = 'EXPIRED') as ended_entries,
      (select count(*)::int from queue_settings) as queue_settings,
      (select count(*)::int from queue_owed_ends) as owed_ends,
      (select count(*)::int from used_challenges) as used_challenges,
      (select count(*)::int from presale_codes) as presale_codes,
      (select count(*)::int from presale_code_uses) as presale_code_uses,
      (select string_agg(join_challenge || ':' || coalesce(max_tickets_per_user, 0) || ':' || coalesce(presale_opens_at::text, ''), ',' order by id)
        from concerts) as concert_rules`.execute(t.app.components.database.db)
  return rows[0]!
}

/** Text of every kind a client can send: NULs, lone surrogates, control and wide characters. */
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', '\u0000', '\ud800', 'x\udc00y', '../../etc/passwd', '%00', '9999-12-31T23:59:59-23:59', '2031-06-30T23:59:60Z'),
)
const value = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(text, fc.constantFrom('__proto__', 'constructor', 'amount', 'seatNo')), tie('value'), { maxKeys: 4 }),
  ),
})).value

describe.each(databaseTargets)('generated requests on $name', (target) => {
  const t = sharedTestApp(target)

  it('when any route gets generated ids, bodies and headers, then no answer is 5xx and no refusal changes anything', async () => {
    const { concertId, scheduleId } = await createConcert(t)
    const [fan] = await admittedFans(t, concertId, 1)
    await chargeBalance(t, fan!.auth, 100_000)
    const reservationId = json(await holdSeat(t, fan!.headers, scheduleId, 1)).reservationId as string
    // Path ids: text (sent percent-encoded), real ids, and raw bytes that are not UTF-8 or not text at all.
    const ids = fc.oneof(
      text.map((s) => encodeURIComponent(s.toWellFormed())),
      fc.constantFrom(concertId, scheduleId, reservationId, fan!.userId, '%ED%A0%80', '%FF', '%', '%00', '..%2F..', 'a'.repeat(500)),
    )
    const routes = fc.constantFrom(
      ['POST', '/v1/users'],
      ['GET', '/v1/concerts'],
      ['POST', '/v1/concerts/{id}/queue'],
      ['GET', '/v1/queue/status'],
      ['DELETE', '/v1/queue'],
      ['GET', '/v1/concerts/{id}/schedules'],
      ['GET', '/v1/schedules/{id}/seats'],
      ['POST', '/v1/reservations'],
      ['DELETE', '/v1/reservations/{id}'],
      ['GET', '/v1/me/reservations'],
      ['GET', '/v1/me/balance'],
      ['POST', '/v1/me/balance/charges'],
      ['GET', '/v1/me/balance/history'],
      ['POST', '/v1/payments'],
      ['POST', '/v1/admin/concerts'],
      ['POST', '/v1/admin/concerts/{id}/schedules'],
      ['GET', '/v1/admin/concerts/{id}/queue'],
      ['PATCH', '/v1/admin/concerts/{id}/queue'],
      ['PATCH', '/v1/admin/concerts/{id}'],
      ['GET', '/v1/admin/concerts/{id}/schedules'],
      ['POST', '/v1/admin/concerts/{id}/presale-codes'],
      ['GET', '/v1/admin/concerts/{id}/presale-codes'],
      ['POST', '/v1/admin/users/{id}/balance/charges'],
      ['GET', '/v1/concerts/{id}/queue/challenge'],
      ['GET', '/metrics'],
    )
    // Credentials are real or not, so requests get past authentication as often as not.
    const headers = fc.record(
      {
        authorization: fc.oneof(
          fc.constant(fan!.auth.authorization!),
          text.map((s) => `Bearer ${s}`),
        ),
        'queue-token': fc.oneof(fc.constant(fan!.queueToken), text),
        'x-admin-key': fc.oneof(fc.constant(admin['x-admin-key']), text),
        'idempotency-key': text,
        'x-request-id': text,
        'accept-encoding': fc.oneof(fc.constantFrom('gzip', 'br', 'gzip, deflate, br', '*', 'br;q=0, gzip;q=0.5', 'identity;q=0'), text),
      },
      { requiredKeys: [] },
    )
    const request = fc.record({
      route: routes,
      id: ids,
      query: fc.dictionary(fc.constantFrom('format', 'limit', 'cursor', 'x'), text, { maxKeys: 3 }),
      headers,
      body: fc.oneof(
        value,
        text.map((s) => ({ raw: s })),
      ),
    })

    // The state read after a refusal is the next request's state before: nothing runs in between.
    let unchanged: Awaited<ReturnType<typeof state>> | undefined
    await fc.assert(
      fc.asyncProperty(request, async ({ route: [method, path], id, query, headers, body }) => {
        const url = `${path!.replace('{id}', id)}?${new URLSearchParams(query)}`
        // Header values must be sendable at all: Node refuses control characters before we could.
        const sendable = Object.fromEntries(Object.entries(headers).filter(([, v]) => /^[\t\x20-\x7e\x80-\xff]*$/.test(v!)))
        const raw = typeof body === 'object' && body !== null && 'raw' in body ? String(body.raw) : JSON.stringify(body)
        const before = unchanged ?? (await state(t))
        unchanged = undefined
        const res = await t.app.inject({
          method: method as 'GET',
          url,
          headers: { ...sendable, ...(method === 'GET' || method === 'DELETE' ? {} : { 'content-type': 'application/json' }) },
          ...(method === 'GET' ? {} : { payload: raw }),
        })
        expect(res.statusCode, `${method} ${url} ${raw}: ${res.body}`).toBeLessThan(500)
        if (res.statusCode >= 400) {
          expect(res.headers['content-type'], res.body).toContain('application/problem+json')
          const after = await state(t)
          expect(after, `${method} ${url} ${raw}`).toEqual(before)
          unchanged = after
        }
      }),
      { numRuns: 400 },
    )
  })
})
