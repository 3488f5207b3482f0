\set d random(1, 20000)
UPDATE devices SET reading = reading + 1, seen_at = now() WHERE id = :d;
INSERT INTO readings (device_id, value, taken_at) VALUES (:d, random(), now());
