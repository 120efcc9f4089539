import { type Kysely, sql } from 'kysely'

/**
 * Presale codes: a concert's presale window (catalog) and its codes with their uses (presale).
 * Written against Kysely<any>, as every migration.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // catalog: admission starts at the presale, and until the sale joining needs a code. A presale
  // ends at the sale, so it needs one, and starts no earlier than the line.
  await db.schema.alterTable('concerts').addColumn('presale_opens_at', 'timestamptz').execute()
  await db.schema
    .alterTable('concerts')
    .addCheckConstraint(
      'concerts_presale_order',
      sql`presale_opens_at is null or (sale_opens_at is not null and presale_opens_at < sale_opens_at
        and (queue_opens_at is null or queue_opens_at <= presale_opens_at))`,
    )
    .execute()

  // presale: each code of a concert (canonical form, see src/presale/codes.ts), used by up to
  // max_uses distinct users; the first of them is kept on the code for the operators' list.
  await db.schema
    .createTable('presale_codes')
    .addColumn('concert_id', 'text', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('max_uses', 'integer', (c) => c.notNull().check(sql`max_uses between 1 and 1000`))
    .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('first_used_by', 'text')
    .addColumn('first_used_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('presale_codes_pk', ['concert_id', 'code'])
    .addCheckConstraint('presale_codes_uses_bounded', sql`uses between 0 and max_uses`)
    .addCheckConstraint('presale_codes_first_use_whole', sql`(first_used_by is null) = (uses = 0)`)
    .execute()
  // Who used which code: a user who used one may join with it again, which uses it no further.
  await db.schema
    .createTable('presale_code_uses')
    .addColumn('concert_id', 'text', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('presale_code_uses_pk', ['concert_id', 'code', 'user_id'])
    .addForeignKeyConstraint('presale_code_uses_code_fk', ['concert_id', 'code'], 'presale_codes', ['concert_id', 'code'])
    .execute()
}
