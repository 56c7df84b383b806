-- What was booked per client and UTC day, kept in step with job.cost_usd in the same transactions, so a
-- month's spend (and a budget's spent part) sums at most 31 rows per client instead of every job.
create table spend_daily (
    client    text          not null,
    day       date          not null,
    total_usd numeric(14, 6) not null,
    jobs      bigint        not null,
    primary key (client, day)
);

insert into spend_daily (client, day, total_usd, jobs)
select client, (completed_at at time zone 'UTC')::date, sum(cost_usd), count(*)
  from job
 where completed_at is not null
 group by 1, 2;
