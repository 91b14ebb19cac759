-- Issue 16: my work. The task list is computed from the workflow tables
-- (no copy of their state); what is kept here is what the reminders need
-- to be sent once: the policy, each user's preferences, the stage of each
-- task already reminded, and one digest per user per day.

-- The operator's reminder policy (requirements §4): lead times in days
-- before a deadline, and after how many working days overdue an item is
-- escalated to an approver. One row.
create table reminder_policy (
  id boolean primary key default true constraint reminder_policy_one check (id),
  lead_days integer[] not null default '{90,60,30,7}'
    constraint reminder_policy_leads check (cardinality(lead_days) between 1 and 8
      and 0 < all (lead_days) and 366 > all (lead_days)),
  escalate_after_working_days integer not null default 5
    constraint reminder_policy_escalate check (escalate_after_working_days between 1 and 60),
  version integer not null default 1,
  updated_at timestamptz not null default now(),
  updated_by uuid
);
insert into reminder_policy default values;

-- A user's own settings: the language of digests and e-mail, and whether
-- they want e-mail at all.
create table user_preference (
  user_id uuid primary key references app_user (user_id),
  lang text not null default 'zh' constraint user_preference_lang check (lang in ('zh', 'en')),
  email_opt_out boolean not null default false,
  version integer not null default 1,
  updated_at timestamptz not null default now()
);

-- A task's stage already reminded to a user ('90', '60', …, 'overdue'):
-- each at most once (the key), whatever runs the job.
create table task_reminder (
  user_id uuid not null references app_user (user_id),
  task_key text not null constraint task_reminder_key_length check (length(task_key) <= 200),
  stage text not null constraint task_reminder_stage check (stage ~ '^([0-9]{1,3}|overdue)$'),
  day date not null,
  primary key (user_id, task_key, stage)
);

-- One digest per user per day (the key, not a check: two job runs at once
-- still make one). Items as [{kind, stage, subject, action, action_en,
-- due_on, link}].
create table task_digest (
  user_id uuid not null references app_user (user_id),
  day date not null,
  org_id uuid not null references organization (organization_id),
  items jsonb not null,
  emailed_at timestamptz,
  email_error text constraint task_digest_email_error_length check (length(email_error) <= 500),
  created_at timestamptz not null default now(),
  read_at timestamptz,
  primary key (user_id, day)
);

alter table reminder_policy enable row level security;
alter table reminder_policy force row level security;
create policy reminder_policy_read on reminder_policy for select using (true);
create policy reminder_policy_update on reminder_policy for update
  using ((select app_is_operator()))
  with check ((select app_is_operator()));

alter table user_preference enable row level security;
alter table user_preference force row level security;
create policy user_preference_own on user_preference for all
  using (user_id = (select app_user_id())) with check (user_id = (select app_user_id()));

alter table task_reminder enable row level security;
alter table task_reminder force row level security;
create policy task_reminder_own on task_reminder for select using (user_id = (select app_user_id()));

alter table task_digest enable row level security;
alter table task_digest force row level security;
create policy task_digest_own on task_digest for select using (user_id = (select app_user_id()));
create policy task_digest_read on task_digest for update
  using (user_id = (select app_user_id())) with check (user_id = (select app_user_id()));

grant select, update on reminder_policy to jiliang_app;
grant select, insert, update on user_preference to jiliang_app;
grant select on task_reminder to jiliang_app;
grant select, update (read_at) on task_digest to jiliang_app;
