-- Issue 15: the flagged queue of a regulator that sees some stations (a
-- province: ~100 of 3,000) reads each of its stations' newest flagged
-- records from this index (index-only: the reason filter is in it) and
-- merges them, instead of walking the national flagged index past every
-- other province's records (108 ms p99 at 10 M records; see docs/records.md).
create index work_record_station_flagged_idx on work_record (station_id, work_date desc, record_id desc)
  include (flag_codes) where flagged and state = 'valid';
