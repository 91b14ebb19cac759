-- Establishing a station (Art 6–8): the application, its documents, the
-- review clock's correction notice (R6.4), the assessment (R8.1–R8.3), the
-- four-eyes decision and the certificate it issues (R8.4), notifications (R8.5).

create table application (
  application_id uuid primary key,
  -- R6.1: filed by the competent department for one of its stations.
  station_id uuid not null references station (station_id),
  department_id uuid not null references organization (organization_id),
  -- R6.2: the receiving regulator, fixed at submission.
  regulator_id uuid references organization (organization_id),
  regulator_reason text,
  state text not null default 'draft' constraint application_state check (state in (
    'draft', 'submitted', 'correction_requested', 'accepted', 'assessment', 'assessed',
    'proposed', 'granted', 'refused', 'withdrawn')),
  region text[] not null default '{}',
  -- [{name, range_text, accuracy_text, task_types, specification}]
  items jsonb not null default '[]',
  standard_ids uuid[] not null default '{}',
  staff_ids uuid[] not null default '{}',
  -- Conditions declared as to be provided at submission (codes of R7 problems).
  to_be_provided text[] not null default '{}',
  submitted_on date,
  -- R6.4: one correction notice listing every missing or defective item.
  correction_items text[],
  correction_on date,
  resubmitted_on date,
  accepted_on date,
  assessment_on date,
  assessment_team text,
  cooperating_station_ids uuid[] not null default '{}',
  assessment_outcome text constraint application_assessment_outcome
    check (assessment_outcome in ('pass', 'pass_after_correction', 'fail')),
  assessment_findings text,
  correction_deadline date,
  correction_evidence text,
  proposal text constraint application_proposal check (proposal in ('grant', 'refuse')),
  proposal_reasons text,
  proposed_by uuid,
  decided_by uuid,
  decided_at timestamptz,
  authorization_id uuid references station_authorization (authorization_id),
  drafted_by uuid not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  version integer not null default 1,
  constraint application_four_eyes check (decided_by is null or proposed_by is null or decided_by <> proposed_by)
);
create index application_station_idx on application (station_id);
create index application_regulator_idx on application (regulator_id, state);
create index application_department_idx on application (department_id, state);

alter table document add column doc_type text;
alter table document drop constraint document_owner_type;
alter table document add constraint document_owner_type
  check (owner_type in ('standard', 'traceability_record', 'qualification', 'change_request', 'application'));

-- R8.5: decisions are served to the department and the station.
create table notification (
  notification_id uuid primary key,
  org_id uuid not null references organization (organization_id),
  subject text not null,
  body text not null,
  link text,
  created_at timestamptz not null default now(),
  read_at timestamptz
);
create index notification_org_idx on notification (org_id, created_at desc);

-- Who sees an application: its department and station; the receiving
-- regulator once submitted; a cooperating national station only while the
-- assessment runs (R8.1, R8.2).
create function app_sees_application(a application) returns boolean language sql stable as $$
  select a.department_id = app_org_id()
      or a.station_id = app_org_id()
      or (a.regulator_id = app_org_id() and a.state <> 'draft')
      or (a.state = 'assessment' and app_org_id() = any(a.cooperating_station_ids))
$$;

alter table application enable row level security;
alter table application force row level security;
create policy application_read on application for select using (app_sees_application(application));
create policy application_insert on application for insert with check (department_id = app_org_id());
create policy application_update on application for update
  using (department_id = app_org_id() or (regulator_id = app_org_id() and state <> 'draft'))
  with check (department_id = app_org_id() or regulator_id = app_org_id());

drop policy document_read on document;
create policy document_read on document for select
  using (app_sees_station(station_id)
    or exists (select 1 from standard_change_request r
                where document.owner_type = 'change_request' and r.change_request_id = document.owner_id
                  and r.decider_org_id = app_org_id())
    or exists (select 1 from application a
                where document.owner_type = 'application' and a.application_id = document.owner_id
                  and app_sees_application(a)));
create policy document_insert_application on document for insert
  with check (owner_type = 'application' and exists (
    select 1 from application a where a.application_id = document.owner_id and a.department_id = app_org_id()));

-- The regulator that granted sets the station authorized (in the same transaction).
create policy station_update_on_grant on station for update
  using (exists (select 1 from application a where a.station_id = station.station_id
                  and a.regulator_id = app_org_id() and a.state = 'granted'))
  with check (exists (select 1 from application a where a.station_id = station.station_id
                  and a.regulator_id = app_org_id() and a.state = 'granted'));

alter table notification enable row level security;
alter table notification force row level security;
create policy notification_read on notification for select using (org_id = app_org_id());
create policy notification_insert on notification for insert with check (app_org_id() is not null);
create policy notification_update on notification for update using (org_id = app_org_id()) with check (org_id = app_org_id());

grant select, insert, update on application, notification to jiliang_app;
