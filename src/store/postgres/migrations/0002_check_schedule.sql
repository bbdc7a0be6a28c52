-- Health checks shared out between instances with no owner: each row is one channel's
-- check and when it is next due. An instance claims due rows up to its free probe slots
-- and advances them one interval in the same statement (FOR UPDATE SKIP LOCKED), so no
-- check is probed twice in one interval, and a check claimed by an instance that died is
-- due again one interval later, for whichever instance comes first.
CREATE TABLE check_schedule (
    service_id text NOT NULL COLLATE "C",
    channel    integer NOT NULL,
    interval_s integer NOT NULL,
    next_due   timestamptz NOT NULL,
    claimed_by text,
    claimed_at timestamptz,
    PRIMARY KEY (service_id, channel)
);
CREATE INDEX check_schedule_due ON check_schedule (next_due);
