-- A grant may set the station's official name (an application filed for a
-- station being established carries "（筹建）" until then). The organization
-- row is the operator's (organization_update policy); this definer function
-- lets exactly the approver who just decided a grant rename its station.
create function grant_station_name(p_application uuid, p_name text) returns void
language plpgsql security definer set search_path = public as $$
declare
  v_station uuid;
begin
  if app_org_kind() is distinct from 'regulator' or not app_has_role('approver') then
    raise exception 'only the approver of a grant names the station' using errcode = 'insufficient_privilege';
  end if;
  select station_id into v_station from application
   where application_id = p_application and state = 'granted'
     and regulator_id = app_org_id() and decided_by = app_user_id();
  if v_station is null then
    raise exception 'no grant decided by this user' using errcode = 'insufficient_privilege';
  end if;
  update organization set name = btrim(p_name), version = version + 1, updated_at = now()
   where organization_id = v_station;
end $$;
revoke all on function grant_station_name(uuid, text) from public;
grant execute on function grant_station_name(uuid, text) to jiliang_app;
