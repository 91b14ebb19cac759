-- Trust (issue 11): a document is readable exactly when its owning record
-- is; an assessment certificate is the issuer's act; every text field has
-- one declared limit and every date field one range; a sign-in attempt is
-- counted before it is evaluated.

-- ---------------------------------------------------------------- documents
-- The owner's own row policy decides: the subquery runs under the caller's
-- role, so the owner table's policy applies to it (same policy, no copy).
drop policy document_read on document;
create policy document_read on document for select using (
  case owner_type
    when 'standard' then exists (
      select 1 from measurement_standard s where s.standard_id = document.owner_id)
    when 'traceability_record' then exists (
      select 1 from traceability_record t where t.traceability_record_id = document.owner_id)
    when 'qualification' then exists (
      select 1 from qualification q where q.qualification_id = document.owner_id)
    when 'change_request' then exists (
      select 1 from standard_change_request r where r.change_request_id = document.owner_id)
    when 'application' then exists (
      select 1 from application a where a.application_id = document.owner_id)
    when 'inspection' then exists (
      select 1 from inspection i where i.inspection_id = document.owner_id)
    when 'rectification_order' then exists (
      select 1 from rectification_order o where o.order_id = document.owner_id)
    when 'violation_case' then exists (
      -- Case evidence is the regulator's only, also after the decision (R19.1).
      select 1 from violation_case c where c.case_id = document.owner_id
         and c.regulator_id = app_org_id())
    else false
  end);

-- A draft change request is the station's own (the query filter said so;
-- the row policy now says the same, so its documents follow).
drop policy standard_change_read on standard_change_request;
create policy standard_change_read on standard_change_request for select using (
  station_id = app_org_id()
  or (state <> 'draft' and (app_sees_station(station_id) or decider_org_id = app_org_id())));

-- ---------------------------------------------------------------- certificates
-- R12.1, R12.4: the assessment certificate (number, issuer, dates) is the
-- issuing regulator's act; after registration it changes only through an
-- approved change request of kind 'certificate', decided by the issuer.
alter table standard_change_request drop constraint standard_change_kind;
alter table standard_change_request add constraint standard_change_kind check (change_kind in (
  'equipment', 'specification', 'personnel', 'environment', 'status', 'certificate'));

create or replace function measurement_standard_protect() returns trigger
language plpgsql security definer set search_path = public as $$
declare applying uuid := nullif(current_setting('app.applying_change', true), '')::uuid;
begin
  if (new.kind, new.range_text, new.accuracy_text, new.main_equipment, new.specification,
      new.responsible_person, new.location, new.environment, new.status, new.station_id,
      new.cert_number, new.cert_issuer_id, new.cert_issued_on, new.cert_expires_on)
     is distinct from
     (old.kind, old.range_text, old.accuracy_text, old.main_equipment, old.specification,
      old.responsible_person, old.location, old.environment, old.status, old.station_id,
      old.cert_number, old.cert_issuer_id, old.cert_issued_on, old.cert_expires_on) then
    if applying is null or not exists (
        select 1 from standard_change_request r
         where r.change_request_id = applying and r.standard_id = new.standard_id and r.state = 'approved') then
      raise exception 'R12.1/R12.4/R16.1/R16.2: this field of a measurement standard changes only through an approved change request'
        using errcode = 'check_violation', constraint = 'measurement_standard_protected';
    end if;
  end if;
  return new;
end $$;

-- A qualification is a certificate of its issuer: never edited in place
-- (the app role has no UPDATE on it); a trigger says so to the owner too.
create function qualification_protect() returns trigger
language plpgsql as $$
begin
  raise exception 'R16.6: a qualification''s certificate and validity are not edited; record a new qualification'
    using errcode = 'check_violation', constraint = 'qualification_protected';
end $$;
create trigger qualification_protect before update on qualification
  for each row execute function qualification_protect();

-- ---------------------------------------------------------------- text limits
-- One declared limit per free-text column, named <table>_<column>_length
-- (error.rs maps the name to the field). The app checks the same limits
-- first, beside the field; this is the second line.
create function app_text_array_ok(a text[], max_items integer, max_len integer)
returns boolean language sql immutable as $$
  select coalesce(cardinality(a), 0) <= max_items
     and coalesce((select max(length(x)) from unnest(a) x), 0) <= max_len
$$;

do $$
declare
  r record;
begin
  for r in select * from (values
    ('app_user', 'email', 254),
    ('organization', 'name_en', 200),
    ('organization', 'address', 500),
    ('organization', 'contact_phone', 50),
    ('organization', 'credit_code', 32),
    ('organization', 'division_code', 12),
    ('station', 'field', 100),
    ('station', 'credit_code', 32),
    ('station', 'parent_entity_name', 200),
    ('station', 'parent_entity_credit_code', 32),
    ('station', 'location_division', 12),
    ('measurement_standard', 'range_text', 500),
    ('measurement_standard', 'accuracy_text', 500),
    ('measurement_standard', 'main_equipment', 500),
    ('measurement_standard', 'specification', 500),
    ('measurement_standard', 'responsible_person', 500),
    ('measurement_standard', 'location', 500),
    ('measurement_standard', 'environment', 500),
    ('measurement_standard', 'cert_number', 100),
    ('traceability_record', 'certificate_number', 100),
    ('staff_member', 'title', 100),
    ('qualification', 'certificate_number', 100),
    ('document', 'filename', 200),
    ('document', 'doc_type', 64),
    ('standard_change_request', 'proposal_note', 2000),
    ('standard_change_request', 'decision_note', 2000),
    ('authorization_item', 'name', 200),
    ('authorization_item', 'range_text', 500),
    ('authorization_item', 'accuracy_text', 500),
    ('authorization_item', 'specification', 500),
    ('application', 'assessment_findings', 5000),
    ('application', 'assessment_team', 1000),
    ('application', 'correction_evidence', 5000),
    ('application', 'proposal_reasons', 2000),
    ('application', 'regulator_reason', 2000),
    ('notification', 'subject', 500),
    ('notification', 'body', 5000),
    ('notification', 'link', 500),
    ('lifecycle_request', 'reason', 2000),
    ('lifecycle_request', 'proposal_reasons', 2000),
    ('lifecycle_request', 'returned_reasons', 2000),
    ('inspection', 'summary', 5000),
    ('inspection', 'cooperation_notes', 2000),
    ('rectification_order', 'description', 2000),
    ('rectification_order', 'report', 5000),
    ('rectification_order', 'extension_reason', 2000),
    ('rectification_order', 'rejection_reasons', 2000),
    ('violation_case', 'description', 5000),
    ('violation_case', 'evidence', 5000),
    ('violation_case', 'decision_notes', 2000),
    ('referral', 'summary', 2000),
    ('station_authorization', 'certificate_number', 100),
    ('authorization_version', 'certificate_number', 100)
  ) as t(tbl, col, max_len) loop
    execute format('alter table %I add constraint %I check (length(%I) <= %s)',
                   r.tbl, r.tbl || '_' || r.col || '_length', r.col, r.max_len);
  end loop;
end $$;
alter table qualification add constraint qualification_items_length
  check (app_text_array_ok(items, 100, 200));

-- ---------------------------------------------------------------- date range
-- One policy for every date a person enters: years 2000–2100
-- (web::check_date is the same rule in the app), named <table>_<column>_date_range.
do $$
declare
  r record;
begin
  for r in select * from (values
    ('measurement_standard', 'cert_issued_on'),
    ('measurement_standard', 'cert_expires_on'),
    ('traceability_record', 'calibrated_on'),
    ('traceability_record', 'due_on'),
    ('qualification', 'issued_on'),
    ('qualification', 'expires_on'),
    ('application', 'assessment_on'),
    ('lifecycle_request', 'effective_on'),
    ('inspection', 'planned_on'),
    ('inspection', 'inspected_from'),
    ('inspection', 'inspected_to'),
    ('rectification_order', 'issued_on'),
    ('rectification_order', 'extended_due_on'),
    ('referral', 'referred_on'),
    ('station_head', 'appointed_on'),
    ('station_head', 'removed_on')
  ) as t(tbl, col) loop
    execute format('alter table %I add constraint %I check (%I between date ''2000-01-01'' and date ''2100-12-31'')',
                   r.tbl, r.tbl || '_' || r.col || '_date_range', r.col);
  end loop;
end $$;

-- ---------------------------------------------------------------- sign-in
-- Attempts are counted per (account, client address) before the password
-- is evaluated (throttle::reserve), with a delay that doubles per failure
-- past the limit; an address that fails for many accounts waits too.
alter table login_throttle
  add column last_failure_at timestamptz,
  -- Attempts being evaluated now, and when the last one was reserved (a
  -- reservation older than a minute is a crashed request: not counted).
  add column in_flight integer not null default 0,
  add column reserved_at timestamptz;
delete from login_throttle;
