// The database floor: what any Node service on PostgreSQL pays for a payment-shaped write. A
// Fastify route, with no auth and no validation, that calls one SQL function (sql/floor_pay.sql:
// two rows locked and updated, two rows inserted, one transaction) as a prepared statement through
// a pg pool of the service's default size. Same machine, same Node, same PostgreSQL; its own schema.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import pg from 'pg'

const [, , port, databaseUrl] = process.argv
/** Rows of each table the route cycles through: every request its own account and item, as fans are. */
const ROWS = 100_000
const schema = `bench_floor_${randomBytes(4).toString('hex')}`
const admin = new pg.Client({ connectionString: databaseUrl })
await admin.connect()
await admin.query(`create schema ${schema}; set search_path = ${schema};
  create table floor_accounts (id integer primary key, balance bigint not null check (balance >= 0));
  create table floor_items (id integer primary key, status text not null, sold_to integer);
  create table floor_payments (id text primary key, account_id integer not null, item_id integer not null, amount bigint not null,
    created_at timestamptz not null);
  create table floor_ledger (id bigserial primary key, account_id integer not null, amount bigint not null,
    balance_after bigint not null, ref_id text not null, created_at timestamptz not null);
  create index on floor_ledger (account_id);
  insert into floor_accounts select n, 1000000000 from generate_series(1, ${ROWS}) n;
  insert into floor_items select n, 'AVAILABLE' from generate_series(1, ${ROWS}) n;
  ${readFileSync(new URL('./sql/floor_pay.sql', import.meta.url), 'utf8')};
  analyze floor_accounts; analyze floor_items;`)

const url = new URL(databaseUrl!)
url.searchParams.set('options', `-c search_path=${schema}`)
const pool = new pg.Pool({ connectionString: url.toString(), max: 20 })

let n = 0
const app = Fastify({ logger: false })
app.get('/health', async () => ({ status: 'ok' }))
app.post('/floor/pay', async () => {
  const row = 1 + (n++ % ROWS)
  const { rows } = await pool.query({
    name: 'floor_pay',
    text: 'select floor_pay($1, $2, $3, $4, $5) as balance',
    values: [row, row, 100, `pay_${n}`, new Date()],
  })
  return { balance: Number(rows[0].balance) }
})
app.addHook('onClose', async () => {
  await pool.end()
  await admin.query(`drop schema ${schema} cascade`)
  await admin.end()
})
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)))
await app.listen({ port: Number(port ?? 0), host: '127.0.0.1' })
