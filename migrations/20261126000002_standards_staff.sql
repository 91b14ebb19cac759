-- Measurement standards, traceability, staff qualifications, documents and
-- change requests (R9.1, R12.1–R12.4, R16.1–R16.4, R16.6).
-- Every table carries station_id and reads through station_access (R3.2:
-- a head station reads its branches'; regulators read what they supervise).
-- Only the station writes its registry; protected fields of a standard
-- change only while an approved change request is being applied.

create table measurement_standard (
  standard_id uuid primary key,
  station_id uuid not null references station (station_id),
  kind text not null constraint measurement_standard_kind
    check (kind in ('primary', 'social_public', 'professional')),
  name text not null constraint measurement_standard_name_length check (length(btrim(name)) between 1 and 200),
  -- As written by the station; validated by rules::measure on every write.
  range_text text not null,
  accuracy_text text not null,
  main_equipment text not null default '',
  specification text not null default '',
  responsible_person text not null default '',
  location text not null default '',
  environment text not null default '',
  status text not null default 'in_service' constraint measurement_standard_status
    check (status in ('in_service', 'sealed', 'stopped', 'replaced', 'cancelled')),
  cert_number text not null,
  cert_issuer_id uuid not null references organization (organization_id),
  cert_issued_on date not null,
  cert_expires_on date not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  version integer not null default 1,
  constraint measurement_standard_cert_key unique (station_id, cert_number),
  constraint measurement_standard_cert_dates check (cert_expires_on > cert_issued_on)
);
create index measurement_standard_station_idx on measurement_standard (station_id);
create index measurement_standard_expiry_idx on measurement_standard (cert_expires_on);

-- Calibrations of a standard against a higher standard (R12.1, R16.4).
create table traceability_record (
  traceability_record_id uuid primary key,
  standard_id uuid not null references measurement_standard (standard_id),
  station_id uuid not null references station (station_id),
  calibrated_on date not null,
  provider text not null constraint traceability_provider_length check (length(btrim(provider)) between 1 and 200),
  certificate_number text not null,
  due_on date not null,
  created_at timestamptz not null default now(),
  created_by uuid,
  constraint traceability_record_dates check (due_on > calibrated_on)
);
create index traceability_record_standard_idx on traceability_record (standard_id, calibrated_on desc);

-- People of the station and their qualifications (R16.6).
create table staff_member (
  staff_member_id uuid primary key,
  station_id uuid not null references station (station_id),
  name text not null constraint staff_member_name_length check (length(btrim(name)) between 1 and 100),
  title text not null default '',
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  version integer not null default 1
);
create index staff_member_station_idx on staff_member (station_id);

create table qualification (
  qualification_id uuid primary key,
  staff_member_id uuid not null references staff_member (staff_member_id),
  station_id uuid not null references station (station_id),
  kind text not null constraint qualification_kind
    check (kind in ('registered_metrologist_1', 'registered_metrologist_2', 'verifier_certificate')),
  certificate_number text not null,
  -- Items covered: instrument or quantity names, or specification codes.
  items text[] not null default '{}',
  issued_on date not null,
  expires_on date not null,
  created_at timestamptz not null default now(),
  constraint qualification_dates check (expires_on > issued_on)
);
create index qualification_staff_idx on qualification (staff_member_id);

-- Uploaded documents: type sniffed, size limited, SHA-256 kept.
create table document (
  document_id uuid primary key,
  station_id uuid not null references station (station_id),
  owner_type text not null constraint document_owner_type check (owner_type in ('standard', 'traceability_record', 'qualification', 'change_request')),
  owner_id uuid not null,
  filename text not null,
  content_type text not null,
  size_bytes bigint not null,
  sha256 text not null,
  content bytea not null,
  uploaded_by uuid,
  created_at timestamptz not null default now()
);
create index document_owner_idx on document (owner_type, owner_id);

-- R12.4 (four kinds) and R16.1/R16.2 (status, primary standards): a change
-- is drafted by the station and decided by the certificate's issuer with
-- four eyes (a reviewer proposes, a different approver confirms).
create table standard_change_request (
  change_request_id uuid primary key,
  station_id uuid not null references station (station_id),
  standard_id uuid not null references measurement_standard (standard_id),
  change_kind text not null constraint standard_change_kind
    check (change_kind in ('equipment', 'specification', 'personnel', 'environment', 'status')),
  reason text not null constraint standard_change_reason check (length(btrim(reason)) between 1 and 2000),
  -- {"field": {"before": …, "after": …}, …}
  changes jsonb not null,
  decider_org_id uuid not null references organization (organization_id),
  state text not null default 'draft' constraint standard_change_state
    check (state in ('draft', 'submitted', 'proposed', 'approved', 'refused', 'withdrawn')),
  proposal text constraint standard_change_proposal check (proposal in ('approve', 'refuse')),
  proposal_note text,
  decision_note text,
  drafted_by uuid not null,
  submitted_at timestamptz,
  proposed_by uuid,
  proposed_at timestamptz,
  decided_by uuid,
  decided_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  version integer not null default 1,
  constraint standard_change_four_eyes check (decided_by is null or proposed_by is null or decided_by <> proposed_by)
);
create index standard_change_station_idx on standard_change_request (station_id, state);
create index standard_change_decider_idx on standard_change_request (decider_org_id, state);

-- Second line for R12.4/R16.1/R16.2: protected fields change only while the
-- transaction applies an approved change request for this standard.
create function measurement_standard_protect() returns trigger
language plpgsql security definer set search_path = public as $$
declare applying uuid := nullif(current_setting('app.applying_change', true), '')::uuid;
begin
  if (new.kind, new.range_text, new.accuracy_text, new.main_equipment, new.specification,
      new.responsible_person, new.location, new.environment, new.status, new.station_id)
     is distinct from
     (old.kind, old.range_text, old.accuracy_text, old.main_equipment, old.specification,
      old.responsible_person, old.location, old.environment, old.status, old.station_id) then
    if applying is null or not exists (
        select 1 from standard_change_request r
         where r.change_request_id = applying and r.standard_id = new.standard_id and r.state = 'approved') then
      raise exception 'R12.4/R16.1/R16.2: this field of a measurement standard changes only through an approved change request'
        using errcode = 'check_violation', constraint = 'measurement_standard_protected';
    end if;
  end if;
  return new;
end $$;
create trigger measurement_standard_protect before update on measurement_standard
  for each row execute function measurement_standard_protect();

-- ---------------------------------------------------------------- row-level security
alter table measurement_standard enable row level security;
alter table measurement_standard force row level security;
create policy measurement_standard_read on measurement_standard for select
  using (app_sees_station(station_id));
create policy measurement_standard_insert on measurement_standard for insert
  with check (station_id = app_org_id());
create policy measurement_standard_update on measurement_standard for update
  using (station_id = app_org_id() or exists (
    select 1 from standard_change_request r
     where r.standard_id = measurement_standard.standard_id and r.decider_org_id = app_org_id()
       and r.state = 'approved'))
  with check (station_id = app_org_id() or exists (
    select 1 from standard_change_request r
     where r.standard_id = measurement_standard.standard_id and r.decider_org_id = app_org_id()
       and r.state = 'approved'));

alter table traceability_record enable row level security;
alter table traceability_record force row level security;
create policy traceability_record_read on traceability_record for select using (app_sees_station(station_id));
create policy traceability_record_insert on traceability_record for insert with check (station_id = app_org_id());

alter table staff_member enable row level security;
alter table staff_member force row level security;
create policy staff_member_read on staff_member for select using (app_sees_station(station_id));
create policy staff_member_insert on staff_member for insert with check (station_id = app_org_id());
create policy staff_member_update on staff_member for update
  using (station_id = app_org_id()) with check (station_id = app_org_id());

alter table qualification enable row level security;
alter table qualification force row level security;
create policy qualification_read on qualification for select using (app_sees_station(station_id));
create policy qualification_insert on qualification for insert with check (station_id = app_org_id());

alter table document enable row level security;
alter table document force row level security;
create policy document_read on document for select
  using (app_sees_station(station_id) or exists (
    select 1 from standard_change_request r
     where document.owner_type = 'change_request' and r.change_request_id = document.owner_id
       and r.decider_org_id = app_org_id()));
create policy document_insert on document for insert with check (station_id = app_org_id());

alter table standard_change_request enable row level security;
alter table standard_change_request force row level security;
create policy standard_change_read on standard_change_request for select
  using (app_sees_station(station_id) or decider_org_id = app_org_id());
create policy standard_change_insert on standard_change_request for insert
  with check (station_id = app_org_id());
create policy standard_change_update on standard_change_request for update
  using (station_id = app_org_id() or decider_org_id = app_org_id())
  with check (station_id = app_org_id() or decider_org_id = app_org_id());

grant select, insert, update on measurement_standard, staff_member, standard_change_request to jiliang_app;
grant select, insert on traceability_record, qualification, document to jiliang_app;
