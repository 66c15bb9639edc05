-- Health alerts (sync_failing) belong to no configured account. Alerts reference an
-- account row, so quota itself has one, under the name '' (which no configured or
-- discovered account can have: names are never empty). Its alerts keep their read
-- ('usage', 'cost', …) in quota_type and their failure streak's start in period_start,
-- which makes the unique identity index hold one alert per read and streak.
INSERT INTO accounts (name, selector, created_at)
VALUES ('', 'quota itself (health alerts)', '1970-01-01T00:00:00Z');
