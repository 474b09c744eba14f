"""On SQLite, store the secret-ballot and participation tables WITHOUT ROWID.

A normal SQLite table numbers its rows in insertion order (the hidden rowid), which would let
anyone with the database file pair the n-th secret ballot with the n-th participation. Without
a rowid, rows are kept in the order of their random primary keys. PostgreSQL tables have no
such column; this migration does nothing there.
"""

from django.db import migrations

TABLES = ("decisions_secretballot", "decisions_participation")


def without_rowid(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    cursor = schema_editor.connection.cursor()
    for table in TABLES:
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [table])
        (create,) = cursor.fetchone()
        if create.rstrip().upper().endswith("WITHOUT ROWID"):
            continue
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
            "AND sql IS NOT NULL",
            [table],
        )
        indexes = [row[0] for row in cursor.fetchall()]
        staging = f"{table}__rowid"
        cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{staging}"')
        cursor.execute(f"{create} WITHOUT ROWID")
        # Both names are the constants above, never input.
        cursor.execute(f'INSERT INTO "{table}" SELECT * FROM "{staging}"')  # noqa: S608
        cursor.execute(f'DROP TABLE "{staging}"')
        for sql in indexes:
            cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("decisions", "0001_proposals_texts_comments_ballots")]
    operations = [migrations.RunPython(without_rowid, migrations.RunPython.noop)]
