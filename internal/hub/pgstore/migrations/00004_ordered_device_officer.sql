-- The device and officer filters page in id order again. Indexed by their
-- key alone (00002), a month of one device (about 5,000 records at
-- 10 M records a month) or one officer had every matching record fetched
-- and sorted for each page of 100: 1.3 s a page at 10 M records. Indexed
-- by (key, id), a page reads its 100 records in order and stops.
-- The device index carries seq, so that the lookup of a device's record
-- by sequence (late records, at ingestion) is an index-only scan of it
-- and (device_no, seq) is no longer needed: one device index, not two.

-- +goose Up
CREATE INDEX records_device ON records (device_no, id) INCLUDE (seq);
DROP INDEX records_device_seq;
DROP INDEX records_officer;
CREATE INDEX records_officer ON records (officer, id) WHERE officer <> '';

-- +goose Down
DROP INDEX records_officer;
CREATE INDEX records_officer ON records (officer) WHERE officer <> '';
CREATE INDEX records_device_seq ON records (device_no, seq);
DROP INDEX records_device;
