\set d random(1, 20000)
SELECT count(*), max(value) FROM readings WHERE device_id = :d;
