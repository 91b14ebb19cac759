-- Notifications as a code with parameters, rendered in the reader's
-- language (subject/body keep the Chinese rendering for older readers);
-- one per organization and event (a repeated event is not repeated); and
-- addressed to a role where only that role acts (an approver is not told
-- that something waits for review).
alter table notification
  add column code text constraint notification_code_format check (code ~ '^[a-z_]{1,40}(\.[a-z_]{1,40}){0,3}$'),
  add column params jsonb not null default '{}'::jsonb,
  add column for_role text constraint notification_for_role
    check (for_role in ('operator', 'admin', 'reviewer', 'approver', 'inspector', 'officer', 'staff', 'head'));
create unique index notification_once on notification (org_id, code, link, md5(params::text))
  where code is not null;

drop policy notification_read on notification;
create policy notification_read on notification for select
  using (org_id = app_org_id() and (for_role is null or app_has_role(for_role)));
drop policy notification_update on notification;
create policy notification_update on notification for update
  using (org_id = app_org_id() and (for_role is null or app_has_role(for_role)))
  with check (org_id = app_org_id());
