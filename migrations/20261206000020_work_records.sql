-- Issue 15: work records 证书/报告记录 (R13.1, R16.4–R16.7, R17.3, R19.1).
-- A station's certificates and reports, each checked against the whole
-- chain (src/rules/records.rs) on every save and import and flagged, never
-- refused, for a rule. A record is never deleted; it may be voided.
--
-- Partitioned by hash of the station (docs/records.md): the number is
-- unique per station (R16.5), and a partitioned table's unique constraint
-- must include its partition key, so partitioning by the work date's year
-- would make that rule a check-then-insert. By station it is a constraint,
-- every station's list and lookup reads one partition, and the split is
-- the one a distributed PostgreSQL (Citus) would take.

-- A standard as it stood when a record used it (R16.4): its status, its
-- assessment certificate and the due date of the calibration in force on
-- the work date. Many records share one state, so records hold its id.
create table standard_state (
  standard_state_id bigint generated always as identity primary key,
  standard_id uuid not null references measurement_standard (standard_id),
  station_id uuid not null references station (station_id),
  name text not null constraint standard_state_name_length check (length(name) <= 200),
  status text not null,
  cert_number text not null constraint standard_state_cert_number_length check (length(cert_number) <= 100),
  cert_issued_on date not null,
  cert_expires_on date not null,
  traceability_due date,
  constraint standard_state_key unique nulls not distinct
    (standard_id, name, status, cert_number, cert_issued_on, cert_expires_on, traceability_due)
);
create index standard_state_station_idx on standard_state (station_id);

create table work_record (
  record_id uuid not null,
  -- No foreign key: a row is written only by its own station (the insert
  -- policy: station_id = the caller's station organization) or by the
  -- migration command (which resolves the station by code), and stations
  -- are never deleted; the per-row key check cost a fifth of the ingest
  -- (docs/records.md).
  station_id uuid not null,
  -- R16.5: unique per station (work_record_number_key).
  number text not null constraint work_record_number_format
    check (length(number) between 1 and 64 and number !~ '[[:cntrl:]]' and number = btrim(number)),
  kind text not null constraint work_record_kind check (kind in ('verification_certificate',
    'verification_notice', 'calibration_certificate', 'test_report', 'type_evaluation_report')),
  instrument_name text not null constraint work_record_instrument_name_length check (length(btrim(instrument_name)) between 1 and 200),
  instrument_model text not null default '' constraint work_record_instrument_model_length check (length(instrument_model) <= 200),
  instrument_serial text not null default '' constraint work_record_instrument_serial_length check (length(instrument_serial) <= 100),
  manufacturer text not null default '' constraint work_record_manufacturer_length check (length(manufacturer) <= 200),
  customer_name text not null constraint work_record_customer_name_length check (length(btrim(customer_name)) between 1 and 200),
  customer_credit_code text constraint work_record_credit_code check (customer_credit_code ~ '^[0-9A-Z]{18}$'),
  customer_division text not null constraint work_record_division check (customer_division ~ '^[0-9]{6}$'),
  item_name text not null constraint work_record_item_name_length check (length(btrim(item_name)) between 1 and 200),
  range_text text not null constraint work_record_range_text_length check (length(btrim(range_text)) between 1 and 200),
  specification text not null default '' constraint work_record_specification_length check (length(specification) <= 100),
  standard_states bigint[] not null constraint work_record_standards check (cardinality(standard_states) between 1 and 20),
  performer_id uuid not null,
  checker_id uuid not null,
  approver_id uuid not null,
  work_date date not null,
  issue_date date not null,
  conclusion text not null constraint work_record_conclusion_length check (length(btrim(conclusion)) between 1 and 50),
  valid_until date,
  authorization_id uuid,
  authorization_revision integer,
  -- R16.7: the verdict at save time; reasons as [{code, rule, zh, en}].
  flagged boolean not null,
  flag_codes text[] not null default '{}',
  reasons jsonb not null default '[]',
  override_reason text constraint work_record_override_reason_length check (length(override_reason) <= 1000),
  override_by uuid,
  reissue_of uuid,
  state text not null default 'valid' constraint work_record_state check (state in ('valid', 'voided')),
  void_reason text constraint work_record_void_reason_length check (length(void_reason) <= 1000),
  voided_at timestamptz,
  voided_by uuid,
  -- Idempotent batches: the same number with the same content is the same record.
  content_hash bytea not null,
  source text not null constraint work_record_source check (source in ('form', 'import', 'api', 'migration')),
  created_at timestamptz not null default now(),
  created_by uuid,
  version integer not null default 1,
  constraint work_record_pkey primary key (record_id, station_id),
  constraint work_record_number_key unique (station_id, number),
  constraint work_record_dates check (issue_date >= work_date and (valid_until is null or valid_until > work_date)),
  constraint work_record_flag check (flagged = (cardinality(flag_codes) > 0)),
  constraint work_record_override check ((override_reason is null) = (override_by is null)),
  constraint work_record_void check ((state = 'voided') = (void_reason is not null and voided_at is not null))
) partition by hash (station_id);

do $$
begin
  for i in 0..15 loop
    execute format('create table work_record_p%s partition of work_record for values with (modulus 16, remainder %s)', i, i);
    -- Read through the parent's policies only: a partition named directly
    -- has no grant and no policy, so the app role sees nothing there.
    execute format('alter table work_record_p%s enable row level security', i);
    execute format('alter table work_record_p%s force row level security', i);
  end loop;
end $$;

-- A station's list, newest work first (every station filter starts here).
create index work_record_station_date_idx on work_record (station_id, work_date desc, record_id desc);
-- The flagged queue: small, only records that are flagged and not voided.
create index work_record_flagged_idx on work_record (work_date desc, record_id desc)
  where flagged and state = 'valid';

-- Records per station, month and kind, with the flagged among them, kept
-- by the triggers below in the inserting statement: dashboards and queue
-- headings never count millions of rows.
create table work_record_month (
  station_id uuid not null references station (station_id),
  month date not null,
  kind text not null,
  total bigint not null default 0,
  flagged bigint not null default 0,
  primary key (station_id, month, kind)
);
create table work_record_flag_count (
  station_id uuid not null references station (station_id),
  code text not null constraint work_record_flag_count_code_format check (code ~ '^[a-z_]{1,64}$'),
  open bigint not null default 0,
  primary key (station_id, code)
);

create function work_record_count_insert() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  insert into work_record_month as m (station_id, month, kind, total, flagged)
  select station_id, date_trunc('month', work_date)::date, kind, count(*), count(*) filter (where flagged)
    from new_rows group by 1, 2, 3
  on conflict (station_id, month, kind) do update
    set total = m.total + excluded.total, flagged = m.flagged + excluded.flagged;
  insert into work_record_flag_count as f (station_id, code, open)
  select station_id, c, count(*) from new_rows, unnest(flag_codes) c where flagged group by 1, 2
  on conflict (station_id, code) do update set open = f.open + excluded.open;
  return null;
end $$;
create trigger work_record_counts after insert on work_record
  referencing new table as new_rows for each statement execute function work_record_count_insert();

-- A record's content never changes (it is evidence): an update may only
-- void it (once, with a reason) or bump its version with that.
create function work_record_void_counts() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  update work_record_flag_count f set open = f.open - 1
   where f.station_id = new.station_id and f.code = any (new.flag_codes);
  return null;
end $$;
create trigger work_record_voided after update of state on work_record
  for each row when (new.flagged and old.state = 'valid' and new.state = 'voided')
  execute function work_record_void_counts();
create function work_record_guard() returns trigger
language plpgsql as $$
begin
  if (to_jsonb(new) - array['state', 'void_reason', 'voided_at', 'voided_by', 'version'])
     is distinct from (to_jsonb(old) - array['state', 'void_reason', 'voided_at', 'voided_by', 'version']) then
    raise exception 'a work record''s content cannot change; void it and issue another'
      using errcode = 'check_violation', constraint = 'work_record_immutable';
  end if;
  if old.state = 'voided' then
    raise exception 'a voided work record stays voided'
      using errcode = 'check_violation', constraint = 'work_record_immutable';
  end if;
  return new;
end $$;
create trigger work_record_immutable before update on work_record
  for each row execute function work_record_guard();

-- R17.3 for records: a regulator's reproducible random sample of one
-- station's records. The pool is every valid record of the station with a
-- work date in the period, created before the draw, ordered by id; the
-- seed, the pool's size and digest and the result are kept, so anyone can
-- re-run the draw.
create table record_sample (
  sample_id uuid primary key,
  station_id uuid not null references station (station_id),
  regulator_id uuid not null references organization (organization_id),
  period_from date not null,
  period_to date not null,
  seed text not null,
  pool_size integer not null,
  pool_digest text not null constraint record_sample_pool_digest_format check (pool_digest ~ '^[0-9a-f]{64}$'),
  record_ids uuid[] not null,
  drawn_by uuid not null,
  drawn_at timestamptz not null default now(),
  constraint record_sample_period check (period_to >= period_from)
);
create index record_sample_station_idx on record_sample (station_id, drawn_at desc);

create table record_sample_check (
  sample_id uuid not null references record_sample (sample_id),
  record_id uuid not null,
  station_id uuid not null references station (station_id),
  finding text not null constraint record_sample_finding check (finding in ('conforming', 'nonconforming')),
  notes text not null default '' constraint record_sample_check_notes_length check (length(notes) <= 2000),
  checked_by uuid not null,
  checked_at timestamptz not null default now(),
  primary key (sample_id, record_id)
);

-- R19.1: records linked to a violation case as evidence.
create table violation_case_record (
  case_id uuid not null references violation_case (case_id),
  record_id uuid not null,
  station_id uuid not null references station (station_id),
  linked_by uuid not null,
  linked_at timestamptz not null default now(),
  primary key (case_id, record_id)
);

-- Public lookups of records are logged like /verify (R16.5).
alter table verification_lookup add column subject text not null default 'authorization'
  constraint verification_lookup_subject check (subject in ('authorization', 'record'));

-- Row security: read by whoever sees the station (R3.2, R17.1); written
-- by the station itself (staff), sampled by regulators who see it.
alter table standard_state enable row level security;
alter table standard_state force row level security;
create policy standard_state_read on standard_state for select using (
  ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));
create policy standard_state_insert on standard_state for insert with check (station_id = (select app_org_id()));

alter table work_record enable row level security;
alter table work_record force row level security;
create policy work_record_read on work_record for select using (
  ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));
create policy work_record_insert on work_record for insert with check (
  station_id = (select app_org_id()) and (select app_org_kind()) = 'station');
create policy work_record_void on work_record for update
  using (station_id = (select app_org_id()) and (select app_org_kind()) = 'station')
  with check (station_id = (select app_org_id()));

alter table work_record_month enable row level security;
alter table work_record_month force row level security;
create policy work_record_month_read on work_record_month for select using (
  ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));
alter table work_record_flag_count enable row level security;
alter table work_record_flag_count force row level security;
create policy work_record_flag_count_read on work_record_flag_count for select using (
  ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));

alter table record_sample enable row level security;
alter table record_sample force row level security;
create policy record_sample_read on record_sample for select using (
  ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));
create policy record_sample_insert on record_sample for insert with check (
  regulator_id = (select app_org_id()) and (select app_org_kind()) = 'regulator'
  and ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));

alter table record_sample_check enable row level security;
alter table record_sample_check force row level security;
create policy record_sample_check_read on record_sample_check for select using (
  ((select app_sees_all_stations()) or station_id in (select a.station_id from station_access a where a.org_id = (select app_org_id()))));
create policy record_sample_check_insert on record_sample_check for insert with check (
  exists (select 1 from record_sample s where s.sample_id = record_sample_check.sample_id
            and s.regulator_id = (select app_org_id()) and record_sample_check.record_id = any (s.record_ids)));

alter table violation_case_record enable row level security;
alter table violation_case_record force row level security;
create policy violation_case_record_read on violation_case_record for select using (
  exists (select 1 from violation_case c where c.case_id = violation_case_record.case_id));
create policy violation_case_record_insert on violation_case_record for insert with check (
  exists (select 1 from violation_case c where c.case_id = violation_case_record.case_id
            and c.regulator_id = (select app_org_id()) and c.station_id = violation_case_record.station_id));

grant select, insert on standard_state, work_record, record_sample, record_sample_check, violation_case_record to jiliang_app;
grant update (state, void_reason, voided_at, voided_by, version) on work_record to jiliang_app;
grant select on work_record_month, work_record_flag_count to jiliang_app;
