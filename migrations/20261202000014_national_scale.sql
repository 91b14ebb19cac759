-- National scale (architecture.md §9, issue 14).
--
-- 1. Row policies evaluated once per statement: `app_sees_station(col)` ran
--    its subquery once per row scanned (3,006 calls for a station's empty
--    inspection list). Each policy now reads the visible set as one
--    semi-join (`col in (select … from station_access …)`), with the
--    settings readers wrapped in `(select …)` so they become InitPlans.
--    The meaning of every policy is unchanged: the same station_access rows
--    decide (relation 'head' is exactly app_is_head_of).
-- 2. A new or changed regulator refreshes its own supervision rows, set
--    based, instead of recomputing every station (8.2 s at 3,007 stations).
-- 3. Indexes for the columns policies and list filters read, and for the
--    keyset order of each list.

-- ---------------------------------------------------------------- 1. policies
drop policy organization_read on organization;
create policy organization_read on organization for select using (
  (select app_org_id()) is not null and (
    organization_id = (select app_org_id())
    or (select app_is_operator())
    or kind in ('platform', 'regulator', 'department')
    or organization_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));

drop policy station_read on station;
create policy station_read on station for select using (
  station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))
  or (select app_is_operator()));

drop policy measurement_standard_read on measurement_standard;
create policy measurement_standard_read on measurement_standard for select using (
  station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id())));

drop policy traceability_record_read on traceability_record;
create policy traceability_record_read on traceability_record for select using (
  station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id())));

drop policy staff_member_read on staff_member;
create policy staff_member_read on staff_member for select using (
  station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id())));

drop policy qualification_read on qualification;
create policy qualification_read on qualification for select using (
  station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id())));

drop policy station_authorization_read on station_authorization;
create policy station_authorization_read on station_authorization for select using (
  station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id())));

drop policy authorization_item_read on authorization_item;
create policy authorization_item_read on authorization_item for select using (
  station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id())));

drop policy authorization_version_read on authorization_version;
create policy authorization_version_read on authorization_version for select using (
  station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id())));

drop policy station_head_read on station_head;
create policy station_head_read on station_head for select using (
  station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id())));

drop policy standard_change_read on standard_change_request;
create policy standard_change_read on standard_change_request for select using (
  station_id = (select app_org_id())
  or (state <> 'draft' and (
    decider_org_id = (select app_org_id())
    or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id())))));

drop policy application_read on application;
create policy application_read on application for select using (
  department_id = (select app_org_id())
  or station_id = (select app_org_id())
  or (regulator_id = (select app_org_id()) and state <> 'draft')
  or (state = 'assessment' and (select app_org_id()) = any (cooperating_station_ids)));

drop policy inspection_read on inspection;
create policy inspection_read on inspection for select using (
  org_id = (select app_org_id())
  or (state = 'completed' and (
    station_id = (select app_org_id())
    or department_id = (select app_org_id())
    or station_id in (select a.station_id from station_access a
                       where a.org_id = (select app_org_id()) and a.relation = 'head'))));

drop policy rectification_order_read on rectification_order;
create policy rectification_order_read on rectification_order for select using (
  issuer_id = (select app_org_id())
  or station_id = (select app_org_id())
  or department_id = (select app_org_id())
  or station_id in (select a.station_id from station_access a
                     where a.org_id = (select app_org_id()) and a.relation = 'head'));

drop policy lifecycle_request_read on lifecycle_request;
create policy lifecycle_request_read on lifecycle_request for select using (
  station_id = (select app_org_id())
  or department_id = (select app_org_id())
  or (regulator_id = (select app_org_id()) and state <> 'draft'));

drop policy violation_case_read on violation_case;
create policy violation_case_read on violation_case for select using (
  regulator_id = (select app_org_id())
  or (state = 'decided' and (station_id = (select app_org_id()) or department_id = (select app_org_id()))));

drop policy notification_read on notification;
create policy notification_read on notification for select using (
  org_id = (select app_org_id()) and (for_role is null or app_has_role(for_role)));

drop policy station_access_read on station_access;
create policy station_access_read on station_access for select using (org_id = (select app_org_id()));

-- ---------------------------------------------------------------- 2. visibility upkeep
-- A regulator's supervision rows follow its own level and division, over
-- each station's location and authorized regions, exactly as
-- refresh_station_access computes them; the other relations come from
-- station rows and are untouched.
create or replace function station_access_on_regulator() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  delete from station_access where org_id = new.organization_id and relation = 'supervisor';
  if new.kind = 'regulator' then
    insert into station_access (org_id, station_id, relation)
    select new.organization_id, s.station_id, 'supervisor'
      from station s
      join division d on d.code = s.location_division
     where new.regulator_level = 'national'
        or new.division_code in (d.code, d.city_code, d.province_code)
    union
    select new.organization_id, a.station_id, 'supervisor'
      from station_authorization a
      cross join lateral unnest(a.region) as rc(code)
      join division rd on rd.code = rc.code
      left join division od on od.code = new.division_code
     where a.status in ('active', 'suspended')
       and (new.regulator_level = 'national'
            or new.division_code in (rd.code, rd.city_code, rd.province_code)
            or rd.code in (od.code, od.city_code, od.province_code))
    on conflict do nothing;
  end if;
  return null;
end $$;

-- ---------------------------------------------------------------- 3. indexes
create index if not exists station_access_head_idx on station_access (org_id, relation, station_id);
create index if not exists rectification_order_department_idx on rectification_order (department_id);
create index if not exists rectification_order_list_idx on rectification_order (due_on, order_id);
create index if not exists inspection_department_idx on inspection (department_id);
create index if not exists inspection_list_idx on inspection (planned_on desc, inspection_id desc);
create index if not exists violation_case_station_idx on violation_case (station_id);
create index if not exists violation_case_department_idx on violation_case (department_id);
create index if not exists application_list_idx on application (updated_at desc, application_id desc);
create index if not exists application_regulator_list_idx on application (regulator_id, updated_at desc, application_id desc);
create index if not exists application_department_list_idx on application (department_id, updated_at desc, application_id desc);
create index if not exists application_station_list_idx on application (station_id, updated_at desc, application_id desc);
create index if not exists lifecycle_request_list_idx on lifecycle_request (updated_at desc, request_id desc);
create index if not exists measurement_standard_list_idx on measurement_standard (station_id, name, standard_id);
create index if not exists qualification_station_idx on qualification (station_id);
create index if not exists traceability_record_station_idx on traceability_record (station_id);
create index if not exists authorization_item_station_idx on authorization_item (station_id);
create index if not exists station_authorization_station_status_idx on station_authorization (station_id, status);
create index if not exists station_location_idx on station (location_division);
create index if not exists staff_member_list_idx on staff_member (name collate zh_pinyin, staff_member_id);
