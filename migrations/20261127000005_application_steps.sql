-- Establishment, completed: a clock for every step after acceptance (the
-- dates the clocks start from), and a department registering the new station
-- it applies for (R6.1 "for a new station").

alter table application add column assessed_on date;
alter table application add column proposed_on date;

-- R6.1: a competent department may register a new station of its own,
-- unauthorized and without an authorizing regulator; everything else about
-- organizations stays with the platform operator.
drop policy organization_insert on organization;
create policy organization_insert on organization for insert with check (
  app_is_operator()
  or (kind = 'station' and app_org_kind() = 'department' and app_has_role('officer')));
-- The kind of an organization, for policies that must see an organization
-- the caller cannot read yet (its own new station, before the station row).
create function organization_kind_of(p_id uuid) returns text
language sql stable security definer set search_path = public as $$
  select kind from organization where organization_id = p_id
$$;
drop policy station_insert on station;
create policy station_insert on station for insert with check (
  app_is_operator()
  or (app_org_kind() = 'department' and app_has_role('officer') and department_id = app_org_id()
      and status = 'unauthorized' and authorizing_regulator_id is null
      and organization_kind_of(station_id) = 'station'));

-- A station organization always has its station row (checked at commit, so
-- that the two inserts of one registration can come in either order).
create function organization_station_row_check() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  if not exists (select 1 from station where station_id = new.organization_id) then
    raise exception 'an organization of kind station needs its station row'
      using errcode = 'check_violation', constraint = 'organization_station_row';
  end if;
  return null;
end $$;
create constraint trigger organization_station_row after insert on organization
  deferrable initially deferred for each row when (new.kind = 'station')
  execute function organization_station_row_check();
