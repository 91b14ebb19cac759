-- Issue 14: the national stations' authorized items (public facts, R7.x
-- cooperation proposals) read inside the request's own transaction instead
-- of on a second pool connection: with every connection held by a request
-- waiting for another, the pool deadlocked into timeouts at 64 clients.
create function national_cooperation_items()
returns table (station_id uuid, station_name text, item_name text, range_text text, specification text)
language sql stable security definer set search_path = public as $$
  select a.station_id, so.name, i.name, i.range_text, i.specification
    from station_authorization a
    join station s on s.station_id = a.station_id and s.tier <> 'local'
    join organization so on so.organization_id = a.station_id
    join authorization_item i on i.authorization_id = a.authorization_id
   where a.status = 'active'
   order by so.name, i.seq
$$;
revoke all on function national_cooperation_items() from public;
grant execute on function national_cooperation_items() to jiliang_app;
