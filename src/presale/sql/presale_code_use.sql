-- Uses a presale code of a concert for a user, as one step: the code's row is locked, so of
-- concurrent users of one code exactly as many as its max_uses get it. A user who used the code
-- before gets it again without using it further. Returns 'OK', 'INVALID' (no such code of this
-- concert) or 'USED' (max_uses other users have it).
create or replace function presale_code_use(p_concert_id text, p_code text, p_user_id text, p_now timestamptz)
returns text
language plpgsql as $$
declare
  c presale_codes%rowtype;
begin
  select * into c from presale_codes where concert_id = p_concert_id and code = p_code for update;
  if not found then
    return 'INVALID';
  end if;
  if exists (select 1 from presale_code_uses where concert_id = p_concert_id and code = p_code and user_id = p_user_id) then
    return 'OK';
  end if;
  if c.uses >= c.max_uses then
    return 'USED';
  end if;
  insert into presale_code_uses (concert_id, code, user_id, used_at) values (p_concert_id, p_code, p_user_id, p_now);
  update presale_codes
  set uses = uses + 1, first_used_by = coalesce(first_used_by, p_user_id), first_used_at = coalesce(first_used_at, p_now)
  where concert_id = p_concert_id and code = p_code;
  return 'OK';
end $$
