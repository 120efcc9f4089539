import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'

/** timestamptz: written as Date, read as Date. */
type Timestamp = ColumnType<Date, Date, Date>

export interface UsersTable {
  id: string
  /** Always equals the sum of the user's ledger entries; never negative (a CHECK says so too). */
  balance: Generated<number>
  created_at: Timestamp
}

export interface BalanceLedgerTable {
  id: Generated<number>
  user_id: string
  kind: 'CHARGE' | 'PAYMENT'
  /** Signed: + for a charge, − for a payment. */
  amount: number
  balance_after: number
  /** The charge id or payment id this entry records. */
  ref_id: string
  created_at: Timestamp
}

export interface ConcertsTable {
  id: string
  title: string
  performer: string
  venue: string
  queue_opens_at: Timestamp | null
  sale_opens_at: Timestamp | null
  created_at: Timestamp
}

export interface SchedulesTable {
  id: string
  concert_id: string
  starts_at: Timestamp
  total_seats: number
  created_at: Timestamp
}

/** The seat map of a schedule: sections in order, seats numbered through them row by row. */
export interface ScheduleSectionsTable {
  schedule_id: string
  position: number
  name: string
  rows: number
  seats_per_row: number
  first_seat_no: number
  price: number
}

export type SeatStatus = 'AVAILABLE' | 'HELD' | 'SOLD'

/**
 * One row per seat, created with its schedule by one INSERT … SELECT generate_series. The row is
 * the seat's lock point: holding, releasing and selling are single-row conditional updates.
 */
export interface SeatsTable {
  schedule_id: string
  seat_no: number
  status: Generated<SeatStatus>
  reservation_id: string | null
  /** Set while HELD; a HELD seat whose held_until has passed is free. */
  held_until: Timestamp | null
}

export type ReservationStatus = 'HELD' | 'CONFIRMED' | 'RELEASED' | 'EXPIRED'

export interface ReservationsTable {
  id: string
  user_id: string
  concert_id: string
  schedule_id: string
  seat_no: number
  price: number
  /** HELD past held_until reads as EXPIRED; the sweep writes EXPIRED later only to tidy. */
  status: ReservationStatus
  held_until: Timestamp
  /** The queue token the hold was taken under. */
  queue_token_id: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface PaymentsTable {
  id: string
  user_id: string
  reservation_id: string
  amount: number
  created_at: Timestamp
}

export interface IdempotencyKeysTable {
  user_id: string
  route: string
  key: string
  request_body: unknown
  /** Null while the first request is still running. */
  response_status: number | null
  response_body: unknown
  created_at: Timestamp
}

export interface QueueEntriesTable {
  token_id: string
  concert_id: string
  user_id: string
  /** Arrival order; a pre-queue join gets a random negative key, so the pre-queue sorts first, shuffled. */
  order_key: number
  status: 'WAITING' | 'ACTIVE' | 'ENDED'
  joined_at: Timestamp
  last_seen_at: Timestamp
  admitted_at: Timestamp | null
  active_until: Timestamp | null
  active_max_until: Timestamp | null
  ended_at: Timestamp | null
  end_reason: string | null
}

export interface QueueTicksTable {
  concert_id: string
  /** When admission last ran (epoch ms); a tick runs once per window floor(now / tickMs). */
  last_tick_at: Generated<number>
}

export interface QueueSettingsTable {
  concert_id: string
  strategy: 'rate' | 'cap' | 'hybrid' | null
  admit_per_tick: number | null
  tick_ms: number | null
  max_active: number | null
  paused: Generated<boolean>
  updated_at: Timestamp
}

export interface Database {
  queue_entries: QueueEntriesTable
  queue_ticks: QueueTicksTable
  queue_settings: QueueSettingsTable
  users: UsersTable
  balance_ledger: BalanceLedgerTable
  concerts: ConcertsTable
  schedules: SchedulesTable
  schedule_sections: ScheduleSectionsTable
  seats: SeatsTable
  reservations: ReservationsTable
  payments: PaymentsTable
  idempotency_keys: IdempotencyKeysTable
}

export type ConcertRow = Selectable<ConcertsTable>
export type NewSection = Insertable<ScheduleSectionsTable>
