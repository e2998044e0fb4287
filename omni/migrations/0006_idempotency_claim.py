"""`omni_idempotency_claim`: an idempotent write's lock and its stored response in one
round trip (omni.idempotency)."""

from django.db import migrations

CLAIM = """
CREATE FUNCTION omni_idempotency_claim(lock_id bigint, key_owner varchar, key_value varchar)
RETURNS TABLE (locked boolean, request_fingerprint varchar, method varchar, path varchar,
               response_status smallint, response_body jsonb)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(lock_id) THEN
        RETURN QUERY SELECT false, NULL::varchar, NULL::varchar, NULL::varchar,
                            NULL::smallint, NULL::jsonb;
        RETURN;
    END IF;
    -- A volatile function's query takes a new snapshot: it sees the response of a request
    -- that held this lock and committed after the calling statement began.
    RETURN QUERY
        SELECT true, r.request_fingerprint, r.method, r.path, r.response_status,
               r.response_body
          FROM omni_idempotencyrecord r
         WHERE r.owner = key_owner AND r.key = key_value;
    IF NOT FOUND THEN
        RETURN QUERY SELECT true, NULL::varchar, NULL::varchar, NULL::varchar,
                            NULL::smallint, NULL::jsonb;
    END IF;
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
