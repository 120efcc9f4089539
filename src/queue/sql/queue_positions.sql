-- How many waiting entries are ahead of each given waiting entry (same snapshot as the caller's
-- statement). The whole line: queue_positions_after from before the first key.
create or replace function queue_positions(p_concert_id text, p_token_ids text[])
returns table (token_id text, ahead integer)
language sql stable as $$
  select * from queue_positions_after(p_concert_id, p_token_ids, -9223372036854775808, '')
$$
