"""`omni_idempotency_claim`: an idempotent write's lock and its stored response in one
round trip (omni.idempotency)."""

from django.db import migrations

CLAIM = """
CREATE OR REPLACE FUNCTION omni_idempotency_claim(
    lock_id bigint, key_owner varchar, key_value varchar
) RETURNS TABLE (locked boolean, request_fingerprint varchar, method varchar,
                 path varchar, response_status smallint, response_body jsonb)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    taken boolean := pg_try_advisory_xact_lock(lock_id);
BEGIN
    -- One row: whether the lock was taken and, if so, the key's first response (NULLs
    -- when there is none). A volatile function's query takes a new snapshot, so the read
    -- sees a response committed by the lock's previous holder after the caller began.
    RETURN QUERY
        SELECT taken, r.request_fingerprint, r.method, r.path, r.response_status,
               r.response_body
          FROM (SELECT 1) AS one
          LEFT JOIN omni_idempotencyrecord r
            ON taken AND r.owner = key_owner AND r.key = key_value;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("omni", "0005_merge_20261123_1428")]

    operations = [
        migrations.RunSQL(
            CLAIM,
            reverse_sql="DROP FUNCTION omni_idempotency_claim(bigint, varchar, varchar);",
        )
    ]
