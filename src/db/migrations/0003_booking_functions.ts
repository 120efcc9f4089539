import { type Kysely, sql } from 'kysely'

/**
 * The two hot booking transactions as server-side functions, so each is one round trip: the
 * Redis store's Lua scripts, on the database side. Inside a function every statement takes a
 * fresh snapshot, so a count made after a row lock sees everything committed before the lock.
 * Locks are always taken user, then seat, then reservation.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Holds a seat: the user's row serialises their own holds (the per-user limit), and the seat's
  // conditional update treats a hold past its deadline as free. Returns HELD, NO_USER,
  // HOLD_LIMIT_REACHED or SEAT_UNAVAILABLE; nothing changes unless HELD.
  await sql`
    create function hold_seat(
      p_reservation_id text, p_user_id text, p_concert_id text, p_schedule_id text, p_seat_no integer,
      p_price bigint, p_now timestamptz, p_held_until timestamptz, p_queue_token_id text, p_max_holds integer
    ) returns text language plpgsql as $$
    declare
      live integer;
    begin
      perform 1 from users where id = p_user_id for update;
      if not found then return 'NO_USER'; end if;
      select count(*) into live from reservations
        where user_id = p_user_id and schedule_id = p_schedule_id and status = 'HELD' and held_until > p_now;
      if live >= p_max_holds then return 'HOLD_LIMIT_REACHED'; end if;
      update seats set status = 'HELD', reservation_id = p_reservation_id, held_until = p_held_until
        where schedule_id = p_schedule_id and seat_no = p_seat_no
          and (status = 'AVAILABLE' or (status = 'HELD' and held_until <= p_now));
      if not found then return 'SEAT_UNAVAILABLE'; end if;
      insert into reservations (id, user_id, concert_id, schedule_id, seat_no, price, status, held_until,
                                queue_token_id, created_at, updated_at)
        values (p_reservation_id, p_user_id, p_concert_id, p_schedule_id, p_seat_no, p_price, 'HELD', p_held_until,
                p_queue_token_id, p_now, p_now);
      return 'HELD';
    end $$`.execute(db)

  // Pays a hold: the hold is the user's and live, the balance covers the price; then the seat is
  // sold, the reservation confirmed, the balance debited, a payment and a ledger entry written.
  // Returns the outcome (PAID, NOT_FOUND, ALREADY_PAID, HOLD_RELEASED, HOLD_EXPIRED,
  // INSUFFICIENT_BALANCE, WRONG_CONCERT when p_concert_id is given and the reservation is of
  // another concert) with the price, the balance, and the reservation's schedule and concert;
  // nothing changes unless PAID.
  await sql`
    create function pay_reservation(p_payment_id text, p_user_id text, p_reservation_id text, p_now timestamptz,
                                    p_concert_id text)
    returns table (outcome text, price bigint, balance bigint, schedule text, concert text) language plpgsql as $$
    declare
      r reservations%rowtype;
      bal bigint;
    begin
      select u.balance into bal from users u where u.id = p_user_id for update;
      if not found then return query select 'NOT_FOUND', null::bigint, null::bigint, null::text, null::text; return; end if;
      select * into r from reservations where id = p_reservation_id and user_id = p_user_id;
      if not found then return query select 'NOT_FOUND', null::bigint, bal, null::text, null::text; return; end if;
      if p_concert_id is not null and r.concert_id <> p_concert_id then
        return query select 'WRONG_CONCERT', r.price, bal, r.schedule_id, r.concert_id; return;
      end if;
      if r.status = 'CONFIRMED' then return query select 'ALREADY_PAID', r.price, bal, r.schedule_id, r.concert_id; return; end if;
      if r.status = 'RELEASED' then return query select 'HOLD_RELEASED', r.price, bal, r.schedule_id, r.concert_id; return; end if;
      if r.status <> 'HELD' or r.held_until <= p_now then return query select 'HOLD_EXPIRED', r.price, bal, r.schedule_id, r.concert_id; return; end if;
      if bal < r.price then return query select 'INSUFFICIENT_BALANCE', r.price, bal, r.schedule_id, r.concert_id; return; end if;
      update seats set status = 'SOLD', held_until = null
        where schedule_id = r.schedule_id and seat_no = r.seat_no and reservation_id = r.id
          and status = 'HELD' and held_until > p_now;
      if not found then
        -- Released or taken over since it was read: say which.
        select * into r from reservations where id = p_reservation_id;
        return query select case when r.status = 'RELEASED' then 'HOLD_RELEASED' else 'HOLD_EXPIRED' end, r.price, bal,
          r.schedule_id, r.concert_id;
        return;
      end if;
      update reservations set status = 'CONFIRMED', updated_at = p_now where id = r.id;
      update users u set balance = u.balance - r.price where u.id = p_user_id returning u.balance into bal;
      insert into payments (id, user_id, reservation_id, amount, created_at)
        values (p_payment_id, p_user_id, r.id, r.price, p_now);
      insert into balance_ledger (user_id, kind, amount, balance_after, ref_id, created_at)
        values (p_user_id, 'PAYMENT', -r.price, bal, p_payment_id, p_now);
      return query select 'PAID', r.price, bal, r.schedule_id, r.concert_id;
    end $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function pay_reservation(text, text, text, timestamptz, text)`.execute(db)
  await sql`drop function hold_seat(text, text, text, text, integer, bigint, timestamptz, timestamptz, text, integer)`.execute(db)
}
