-- Authorizations and their certificates (R8.4, R13.1), the public
-- verification log. The application workflow (Art 6–8) creates these; the
-- demo seed registers those of the demo stations.

create table station_authorization (
  authorization_id uuid primary key,
  station_id uuid not null references station (station_id),
  regulator_id uuid not null references organization (organization_id),
  certificate_number text not null constraint station_authorization_number_key unique,
  -- Unguessable: the QR code on the certificate opens /verify/{token}.
  verify_token text not null constraint station_authorization_token_key unique
    constraint station_authorization_token_length check (length(verify_token) >= 32),
  status text not null default 'active' constraint station_authorization_status
    check (status in ('active', 'suspended', 'terminated', 'revoked')),
  valid_from date not null,
  valid_until date not null,
  -- R13.1: where the station may work (GB/T 2260 codes; a code covers its descendants).
  region text[] not null constraint station_authorization_region_nonempty check (cardinality(region) >= 1),
  ended_on date,
  issued_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  version integer not null default 1,
  constraint station_authorization_dates check (valid_until > valid_from)
);
create index station_authorization_station_idx on station_authorization (station_id);

create table authorization_item (
  authorization_item_id uuid primary key,
  authorization_id uuid not null references station_authorization (authorization_id),
  station_id uuid not null references station (station_id),
  seq integer not null,
  name text not null,
  range_text text not null,
  accuracy_text text not null,
  task_types text[] not null constraint authorization_item_task_types
    check (task_types <@ array['verification', 'type_evaluation', 'calibration', 'testing'] and cardinality(task_types) >= 1),
  specification text not null,
  constraint authorization_item_seq_key unique (authorization_id, seq)
);

-- R8.4: numbers run per prefix (国, or the province's short name) and year:
-- the default pattern "({prefix})法计({year}){seq:05}号" carries nothing else
-- that tells two regulators of one province apart, so they share the
-- sequence. Taken only through next_certificate_seq().
create table certificate_sequence (
  prefix text not null,
  year integer not null,
  last_seq integer not null,
  primary key (prefix, year)
);

create function next_certificate_seq(p_prefix text, p_year integer) returns integer
language sql security definer set search_path = public as $$
  insert into certificate_sequence (prefix, year, last_seq) values (p_prefix, p_year, 1)
  on conflict (prefix, year) do update set last_seq = certificate_sequence.last_seq + 1
  returning last_seq
$$;
revoke all on function next_certificate_seq(text, integer) from public;
grant execute on function next_certificate_seq(text, integer) to jiliang_app;

-- Each public lookup (requirements.md §4), for the log and rate limiting.
create table verification_lookup (
  verification_lookup_id bigint generated always as identity primary key,
  token_prefix text not null,
  found boolean not null,
  client_addr text not null,
  looked_at timestamptz not null default now()
);
create index verification_lookup_addr_idx on verification_lookup (client_addr, looked_at desc);

-- Supervision (Art 17) also follows where a station works: regulators whose
-- jurisdiction overlaps an authorized region see the station.
create or replace function refresh_station_access(p_station uuid) returns void
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
   where s.station_id = p_station
  union
  select o.organization_id, a.station_id, 'supervisor'
    from station_authorization a
    cross join lateral unnest(a.region) as rc(code)
    join division rd on rd.code = rc.code
    join organization o on o.kind = 'regulator'
    left join division od on od.code = o.division_code
   where a.station_id = p_station and a.status in ('active', 'suspended')
     and (o.regulator_level = 'national'
          or o.division_code in (rd.code, rd.city_code, rd.province_code)
          or rd.code in (od.code, od.city_code, od.province_code));
end $$;

create function station_access_on_authorization() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  perform refresh_station_access(new.station_id);
  return null;
end $$;
create trigger station_access_authorization after insert or update of status, region on station_authorization
  for each row execute function station_access_on_authorization();

alter table station_authorization enable row level security;
alter table station_authorization force row level security;
create policy station_authorization_read on station_authorization for select using (app_sees_station(station_id));
create policy station_authorization_write on station_authorization for all
  using (regulator_id = app_org_id()) with check (regulator_id = app_org_id());

alter table authorization_item enable row level security;
alter table authorization_item force row level security;
create policy authorization_item_read on authorization_item for select using (app_sees_station(station_id));
create policy authorization_item_write on authorization_item for insert with check (exists (
  select 1 from station_authorization a where a.authorization_id = authorization_item.authorization_id
     and a.regulator_id = app_org_id()));

grant select, insert, update on station_authorization to jiliang_app;
grant select, insert on authorization_item to jiliang_app;
