-- Every transaction that ends a job adds to its client's rollup row of the day. With one row per client and
-- day, those transactions queued on that row's lock until each committed: at 250 completions/s, 13 of the 16
-- writing sessions were waiting on it (pg_stat_activity: Lock/transactionid on this upsert). A day is now
-- spread over up to 16 rows per client, picked at random per booking, so they commit side by side; every
-- reader already sums the rows. Once a day is over, SpendBook folds its rows into shard 0.
alter table spend_daily add column shard smallint not null default 0 check (shard between 0 and 15);
alter table spend_daily drop constraint spend_daily_pkey;
alter table spend_daily add primary key (client, day, shard);
