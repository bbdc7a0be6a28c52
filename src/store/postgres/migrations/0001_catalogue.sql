-- The catalogue, its history and the rebuildable state. Records are the same serde JSON
-- the sled engine keeps; the columns beside them are what queries filter and order by.

-- The only serialization point of writes: every write transaction locks this row first,
-- so change and audit numbers are handed out, and become visible, strictly in order.
CREATE TABLE heads (
    id              integer PRIMARY KEY CHECK (id = 1),
    change_seq      bigint NOT NULL,
    audit_seq       bigint NOT NULL,
    mirror_position bigint NOT NULL
);
INSERT INTO heads VALUES (1, 0, 0, 0);

CREATE TABLE services (
    id      text PRIMARY KEY COLLATE "C",
    agency  text NOT NULL,
    status  text NOT NULL,
    version bigint NOT NULL,
    doc     jsonb NOT NULL
);
CREATE INDEX services_agency ON services (agency, id);

CREATE TABLE changes (
    seq    bigint PRIMARY KEY,
    record jsonb NOT NULL
);

CREATE TABLE audit (
    seq    bigint PRIMARY KEY,
    record jsonb NOT NULL
);

CREATE TABLE agencies (
    id     text PRIMARY KEY COLLATE "C",
    record jsonb NOT NULL
);

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE health (
    service_id text NOT NULL COLLATE "C",
    channel    integer NOT NULL,
    record     jsonb NOT NULL,
    PRIMARY KEY (service_id, channel)
);

CREATE TABLE feeds (
    agency text PRIMARY KEY COLLATE "C",
    record jsonb NOT NULL
);

CREATE TABLE harvest_runs (
    agency text NOT NULL COLLATE "C",
    n      bigserial,
    run    jsonb NOT NULL,
    PRIMARY KEY (agency, n)
);
