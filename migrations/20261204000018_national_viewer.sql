-- Issue 14: the national regulator sees every station (R17.1: its
-- supervision rows cover the whole country, station_access_on_regulator
-- and refresh_station_access), so the row policies need not build a hash
-- of its 3,000 station ids in every statement: a marker table says who
-- sees all, and the generic policies test it first (once per statement, an
-- InitPlan). For SAMR's pages this hash was most of the database's time.
create table national_viewer (
  org_id uuid primary key references organization (organization_id) on delete cascade
);
insert into national_viewer (org_id)
  select organization_id from organization where kind = 'regulator' and regulator_level = 'national';
grant select on national_viewer to jiliang_app;
-- Which organization is the national regulator is public; the app role may
-- only read it (writes come from the definer trigger below).
alter table national_viewer enable row level security;
alter table national_viewer force row level security;
create policy national_viewer_all on national_viewer using (true) with check (true);

create function national_viewer_sync() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  delete from national_viewer where org_id = new.organization_id;
  if new.kind = 'regulator' and new.regulator_level = 'national' then
    insert into national_viewer (org_id) values (new.organization_id);
  end if;
  return null;
end $$;
create trigger organization_national_viewer
  after insert or update of kind, regulator_level on organization
  for each row execute function national_viewer_sync();

-- Whether the caller's organization sees every station.
create function app_sees_all_stations() returns boolean language sql stable as
  $$ select exists (select 1 from national_viewer v where v.org_id = app_org_id()) $$;

drop policy organization_read on organization;
create policy organization_read on organization for select using (
  (select app_org_id()) is not null and (
    organization_id = (select app_org_id())
    or (select app_is_operator())
    or kind in ('platform', 'regulator', 'department')
    or ((select app_sees_all_stations()) or organization_id in (select a.station_id from station_access a where a.org_id = (select app_org_id())))));

drop policy station_read on station;
create policy station_read on station for select using (
  ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id())))
  or (select app_is_operator()));

drop policy measurement_standard_read on measurement_standard;
create policy measurement_standard_read on measurement_standard for select using (
  ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));

drop policy traceability_record_read on traceability_record;
create policy traceability_record_read on traceability_record for select using (
  ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));

drop policy staff_member_read on staff_member;
create policy staff_member_read on staff_member for select using (
  ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));

drop policy qualification_read on qualification;
create policy qualification_read on qualification for select using (
  ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));

drop policy station_authorization_read on station_authorization;
create policy station_authorization_read on station_authorization for select using (
  ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));

drop policy authorization_item_read on authorization_item;
create policy authorization_item_read on authorization_item for select using (
  ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));

drop policy authorization_version_read on authorization_version;
create policy authorization_version_read on authorization_version for select using (
  ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));

drop policy station_head_read on station_head;
create policy station_head_read on station_head for select using (
  ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));

drop policy standard_change_read on standard_change_request;
create policy standard_change_read on standard_change_request for select using (
  station_id = (select app_org_id())
  or (state <> 'draft' and (
    decider_org_id = (select app_org_id())
    or ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))))));

