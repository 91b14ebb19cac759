-- Issue 14: the public verification page keeps authorizations in memory
-- with the version (xmin) of the authorization's row, and on each lookup
-- reads only that version, by the token's index
-- (src/authorizations/verify_cache.rs). Whatever else the page shows writes
-- a new version of the authorization row here, in the same statement and
-- whichever path made the change: its items, the station's and the
-- regulator's names, the station's code. (Division names are reference
-- data, loaded before the server starts.)
create function authorization_item_touch() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  if tg_op in ('INSERT', 'UPDATE') then
    update station_authorization set updated_at = now()
     where authorization_id in (select authorization_id from new_rows);
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    update station_authorization set updated_at = now()
     where authorization_id in (select authorization_id from old_rows);
  end if;
  return null;
end $$;
create trigger authorization_item_touch_insert after insert on authorization_item
  referencing new table as new_rows
  for each statement execute function authorization_item_touch();
create trigger authorization_item_touch_update after update on authorization_item
  referencing old table as old_rows new table as new_rows
  for each statement execute function authorization_item_touch();
create trigger authorization_item_touch_delete after delete on authorization_item
  referencing old table as old_rows
  for each statement execute function authorization_item_touch();

create function authorization_name_touch() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  if tg_table_name = 'organization' then
    update station_authorization set updated_at = now()
     where station_id = new.organization_id or regulator_id = new.organization_id;
  else
    update station_authorization set updated_at = now() where station_id = new.station_id;
  end if;
  return null;
end $$;
create trigger organization_name_touch after update of name on organization
  for each row when (old.name is distinct from new.name)
  execute function authorization_name_touch();
create trigger station_code_touch after update of code on station
  for each row when (old.code is distinct from new.code)
  execute function authorization_name_touch();
-- A regulator's rename touches the authorizations it granted.
create index station_authorization_regulator_idx on station_authorization (regulator_id);
