-- Issue 14: one station's staff in the list's order (pinyin name, id); the
-- global order index made a station's /staff walk every station's staff.
create index if not exists staff_member_station_list_idx
  on staff_member (station_id, (name collate zh_pinyin), staff_member_id);
-- A station's standards in the list's order, for the same reason.
create index if not exists measurement_standard_station_name_idx
  on measurement_standard (station_id, (name collate zh_pinyin), standard_id);
