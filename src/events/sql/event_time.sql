-- A timestamp as the API writes it (JavaScript's toISOString): UTC, milliseconds, `Z`. Event
-- data built in SQL uses it, so an event shows the same text as the API.
create or replace function event_time(p_at timestamptz) returns text
language sql immutable as $$
  select to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$
