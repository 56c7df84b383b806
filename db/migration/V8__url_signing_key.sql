-- The server secret signed video URLs are made with (HMAC-SHA256): made once, on first use, by whichever instance
-- comes first, and shared by every instance. Never leaves the database except as signatures.
create table url_signing_key (
    singleton  boolean     primary key default true check (singleton),
    secret     bytea       not null,
    created_at timestamptz not null
);
