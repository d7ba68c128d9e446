-- A whole-base run's review pairs already waiting in the queue: neither queued again nor skipped.
ALTER TABLE dedup_runs ADD COLUMN already_queued BIGINT NOT NULL DEFAULT 0;
