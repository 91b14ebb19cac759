-- Foundation schema: reference data, organizations, users, stations, station
-- visibility (station_access), the hash-chained audit log, sign-in throttling.
-- Tenancy (architecture.md §3): every tenant table has ENABLE + FORCE ROW LEVEL
-- SECURITY; requests run as `jiliang_app`, which owns nothing and has neither
-- SUPERUSER nor BYPASSRLS; policies read app.org_id and fail closed when unset.

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'jiliang_app') then
    create role jiliang_app nologin nosuperuser nobypassrls nocreatedb nocreaterole noinherit;
  end if;
end $$;
grant jiliang_app to current_user;
grant usage on schema public to jiliang_app;

-- Chinese names sort by pinyin (ICU), not by code point.
create collation if not exists zh_pinyin (provider = icu, locale = 'zh-u-co-pinyin');

-- Request context, set with set_config(..., true) per transaction (db::tenant_tx).
create function app_org_id() returns uuid language sql stable as
$$ select nullif(current_setting('app.org_id', true), '')::uuid $$;
create function app_org_kind() returns text language sql stable as
$$ select nullif(current_setting('app.org_kind', true), '') $$;
create function app_user_id() returns uuid language sql stable as
$$ select nullif(current_setting('app.user_id', true), '')::uuid $$;
create function app_has_role(r text) returns boolean language sql stable as
$$ select r = any(string_to_array(coalesce(current_setting('app.roles', true), ''), ',')) $$;

-- ---------------------------------------------------------------- reference data
-- GB/T 2260 divisions, loaded at start-up from data/cn_divisions.csv (db::reference).
create table division (
  code text primary key constraint division_code_format check (code ~ '^[0-9]{6}$'),
  name text not null,
  level text not null constraint division_level check (level in ('province', 'city', 'county')),
  parent_code text references division (code),
  province_code text not null,
  city_code text
);
create index division_parent_idx on division (parent_code);
grant select on division to jiliang_app;

-- Official holidays and make-up workdays (data/cn_calendar_adjustments.csv), R18.1.
create table calendar_day (
  day date primary key,
  kind text not null constraint calendar_day_kind check (kind in ('holiday', 'workday')),
  name_en text not null,
  name_zh text not null
);
grant select on calendar_day to jiliang_app;

create table app_meta (
  key text primary key,
  value text not null
);

-- ---------------------------------------------------------------- organizations
create table organization (
  organization_id uuid primary key,
  kind text not null constraint organization_kind check (kind in ('platform', 'regulator', 'department', 'station')),
  name text not null constraint organization_name_length check (length(btrim(name)) between 1 and 200),
  name_en text,
  regulator_level text constraint organization_regulator_level
    check (regulator_level in ('national', 'provincial', 'municipal', 'county')),
  division_code text references division (code),
  credit_code text,
  address text,
  contact_phone text,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  version integer not null default 1,
  constraint organization_name_key unique (name),
  constraint organization_regulator_fields check (
    (kind = 'regulator') = (regulator_level is not null)
    and (kind <> 'regulator' or (regulator_level = 'national') = (division_code is null))
  )
);
create index organization_kind_idx on organization (kind);

create table app_user (
  user_id uuid primary key,
  organization_id uuid not null references organization (organization_id),
  username text not null constraint app_user_username_key unique
    constraint app_user_username_format check (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
  display_name text not null constraint app_user_display_name_length check (length(btrim(display_name)) between 1 and 100),
  email text,
  password_hash text not null,
  roles text[] not null constraint app_user_roles_known
    check (roles <@ array['operator', 'admin', 'reviewer', 'approver', 'inspector', 'officer', 'staff', 'head']
           and cardinality(roles) >= 1),
  -- Bumped on password change or deactivation: every session of the user ends.
  security_stamp uuid not null,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  version integer not null default 1
);
create index app_user_org_idx on app_user (organization_id);

-- ---------------------------------------------------------------- stations
create table station (
  station_id uuid primary key references organization (organization_id),
  code text not null constraint station_code_key unique
    constraint station_code_format check (code ~ '^[A-Z0-9][A-Z0-9-]{1,31}$'),
  tier text not null constraint station_tier check (tier in ('national_head', 'national_branch', 'local')),
  -- R3.1: a national branch station has exactly one head station; others have none.
  head_station_id uuid references station (station_id),
  department_id uuid not null references organization (organization_id),
  authorizing_regulator_id uuid references organization (organization_id),
  location_division text not null references division (code),
  field text not null default '',
  legal_person boolean not null,
  credit_code text,
  parent_entity_name text,
  parent_entity_credit_code text,
  status text not null default 'unauthorized'
    constraint station_status check (status in ('unauthorized', 'authorized', 'suspended', 'terminated')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  version integer not null default 1,
  constraint station_head_rule check ((tier = 'national_branch') = (head_station_id is not null)),
  constraint station_legal_identity check (
    (legal_person and credit_code is not null)
    or (not legal_person and parent_entity_name is not null and parent_entity_credit_code is not null)
  )
);
create index station_department_idx on station (department_id);
create index station_regulator_idx on station (authorizing_regulator_id);
create index station_head_idx on station (head_station_id);

-- Which organizations may see which station, and why (architecture.md §3).
-- Kept current by triggers in the same transaction as the change.
create table station_access (
  org_id uuid not null references organization (organization_id),
  station_id uuid not null references station (station_id),
  relation text not null constraint station_access_relation
    check (relation in ('self', 'department', 'authorizer', 'supervisor', 'head')),
  primary key (org_id, station_id, relation)
);
create index station_access_station_idx on station_access (station_id);

create function app_sees_station(s uuid) returns boolean language sql stable as
$$ select exists (select 1 from station_access a where a.org_id = app_org_id() and a.station_id = s) $$;

-- Recomputes the visibility rows of one station: itself, its competent
-- department, its authorizing regulator, its head station (R3.2) and every
-- regulator whose jurisdiction contains its location (supervision, R17.1).
create function refresh_station_access(p_station uuid) returns void
language plpgsql security definer set search_path = public as $$
begin
  delete from station_access where station_id = p_station;
  insert into station_access (org_id, station_id, relation)
  select s.station_id, s.station_id, 'self' from station s where s.station_id = p_station
  union
  select s.department_id, s.station_id, 'department' from station s where s.station_id = p_station
  union
  select s.authorizing_regulator_id, s.station_id, 'authorizer' from station s
   where s.station_id = p_station and s.authorizing_regulator_id is not null
  union
  select s.head_station_id, s.station_id, 'head' from station s
   where s.station_id = p_station and s.head_station_id is not null
  union
  select o.organization_id, s.station_id, 'supervisor'
    from station s
    join division d on d.code = s.location_division
    join organization o on o.kind = 'regulator'
     and (o.regulator_level = 'national' or o.division_code in (d.code, d.city_code, d.province_code))
   where s.station_id = p_station;
end $$;

create function station_access_on_station() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  perform refresh_station_access(new.station_id);
  return null;
end $$;
create trigger station_access_refresh after insert or update of department_id, authorizing_regulator_id,
  head_station_id, location_division on station
  for each row execute function station_access_on_station();

create function station_access_on_regulator() returns trigger
language plpgsql security definer set search_path = public as $$
declare s uuid;
begin
  if new.kind = 'regulator' then
    for s in select station_id from station loop
      perform refresh_station_access(s);
    end loop;
  end if;
  return null;
end $$;
create trigger station_access_regulator after insert or update of kind, regulator_level, division_code on organization
  for each row execute function station_access_on_regulator();

-- ---------------------------------------------------------------- audit
-- Insert-only, hash-chained per organization (chain = org id, or 'system').
create table audit_chain (
  chain text primary key,
  last_seq bigint not null,
  last_hash text not null
);

create table audit_event (
  audit_event_id uuid primary key,
  chain text not null,
  seq bigint not null,
  occurred_at timestamptz not null default clock_timestamp(),
  org_id uuid,
  user_id uuid,
  action text not null,
  entity_type text not null,
  entity_id text,
  before jsonb,
  after jsonb,
  request_id text,
  client_addr text,
  prev_hash text not null,
  hash text not null,
  constraint audit_event_chain_seq_key unique (chain, seq)
);
create index audit_event_org_idx on audit_event (org_id, occurred_at desc);
create index audit_event_entity_idx on audit_event (entity_type, entity_id);

-- The canonical text of an event that its hash covers; audit-verify uses the same.
create function audit_payload(e audit_event) returns text language sql immutable as $$
  select concat_ws('|', e.chain, e.seq::text,
    to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    coalesce(e.org_id::text, ''), coalesce(e.user_id::text, ''), e.action, e.entity_type,
    coalesce(e.entity_id, ''), coalesce(e.before::text, ''), coalesce(e.after::text, ''),
    coalesce(e.request_id, ''), coalesce(e.client_addr, ''))
$$;

create function audit_event_chain() returns trigger
language plpgsql security definer set search_path = public as $$
declare head audit_chain;
begin
  new.chain := coalesce(new.org_id::text, 'system');
  new.occurred_at := clock_timestamp();
  insert into audit_chain (chain, last_seq, last_hash) values (new.chain, 0, '') on conflict do nothing;
  select * into head from audit_chain where chain = new.chain for update;
  new.seq := head.last_seq + 1;
  new.prev_hash := head.last_hash;
  new.hash := encode(sha256(convert_to(new.prev_hash || '|' || audit_payload(new), 'UTF8')), 'hex');
  update audit_chain set last_seq = new.seq, last_hash = new.hash where chain = new.chain;
  return new;
end $$;
create trigger audit_event_chain before insert on audit_event
  for each row execute function audit_event_chain();

create function audit_event_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'audit_event is insert-only' using errcode = 'insufficient_privilege';
end $$;
create trigger audit_event_no_update before update or delete on audit_event
  for each row execute function audit_event_refuse_change();
create trigger audit_event_no_truncate before truncate on audit_event
  for each statement execute function audit_event_refuse_change();

-- ---------------------------------------------------------------- sign-in throttling
-- Keys are 'user:<username>' and 'ip:<address>'; used before any session exists.
create table login_throttle (
  key text primary key,
  failures integer not null,
  window_started_at timestamptz not null,
  locked_until timestamptz
);

-- ---------------------------------------------------------------- row-level security
-- The platform operator (kind platform AND role operator) manages the
-- registry; an organization's admin manages its own users. Roles come from
-- app.roles, set per transaction from the signed-in user.
create function app_is_operator() returns boolean language sql stable as
$$ select app_org_kind() = 'platform' and app_has_role('operator') $$;

alter table organization enable row level security;
alter table organization force row level security;
create policy organization_read on organization for select using (
  app_org_id() is not null and (
    organization_id = app_org_id()
    or app_is_operator()
    or kind in ('platform', 'regulator', 'department')
    or app_sees_station(organization_id)));
create policy organization_insert on organization for insert with check (app_is_operator());
create policy organization_update on organization for update
  using (app_is_operator()) with check (app_is_operator());

alter table app_user enable row level security;
alter table app_user force row level security;
create policy app_user_read on app_user for select
  using (organization_id = app_org_id() or app_is_operator());
create policy app_user_insert on app_user for insert
  with check ((organization_id = app_org_id() and app_has_role('admin')) or app_is_operator());
create policy app_user_update on app_user for update
  using ((organization_id = app_org_id() and app_has_role('admin')) or app_is_operator())
  with check ((organization_id = app_org_id() and app_has_role('admin')) or app_is_operator());

alter table station enable row level security;
alter table station force row level security;
create policy station_read on station for select
  using (app_sees_station(station_id) or app_is_operator());
create policy station_insert on station for insert with check (app_is_operator());
create policy station_update on station for update
  using (app_is_operator()) with check (app_is_operator());

-- R3.1 as a second line: a branch's head is a national head station, and a
-- head station with branches keeps its tier.
create function station_head_check() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  if new.head_station_id is not null and not exists (
      select 1 from station h where h.station_id = new.head_station_id and h.tier = 'national_head') then
    raise exception 'R3.1: the head station of a branch must be a national head station'
      using errcode = 'check_violation', constraint = 'station_head_rule';
  end if;
  if tg_op = 'UPDATE' and old.tier = 'national_head' and new.tier <> 'national_head' and exists (
      select 1 from station b where b.head_station_id = new.station_id) then
    raise exception 'R3.1: a head station with branches keeps its tier'
      using errcode = 'check_violation', constraint = 'station_head_keeps_tier';
  end if;
  return new;
end $$;
create trigger station_head_check before insert or update of tier, head_station_id on station
  for each row execute function station_head_check();

alter table station_access enable row level security;
alter table station_access force row level security;
create policy station_access_read on station_access for select using (org_id = app_org_id());

alter table audit_event enable row level security;
alter table audit_event force row level security;
create policy audit_event_read on audit_event for select using (org_id = app_org_id());
create policy audit_event_insert on audit_event for insert
  with check (app_org_id() is not null and org_id = app_org_id() and user_id = app_user_id());


grant select, insert, update on organization, app_user, station to jiliang_app;
grant select on station_access to jiliang_app;
grant select, insert on audit_event to jiliang_app;

-- "广东省 广州市 天河区": a division's full name for display.
create function division_path(c text) returns text language sql stable as $$
  select concat_ws(' ', p.name,
           case when d.level <> 'province' and ci.name not in ('市辖区', '县', '省直辖县级行政区划', '自治区直辖县级行政区划')
                then ci.name end,
           case when d.level = 'county' then d.name end)
    from division d
    join division p on p.code = d.province_code
    left join division ci on ci.code = d.city_code
   where d.code = c
$$;
