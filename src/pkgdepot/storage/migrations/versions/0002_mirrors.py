"""Mirrors: files may be known before they are fetched; what each upstream page last said.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # SQLite cannot relax NOT NULL in place: batch mode copies the table.
    with op.batch_alter_table("files") as batch:
        batch.alter_column("size", existing_type=sa.BigInteger, nullable=True)
        batch.alter_column("upload_time", existing_type=sa.Text, nullable=True)
        batch.add_column(sa.Column("url", sa.Text, nullable=True))
        batch.add_column(sa.Column("cached", sa.Boolean, nullable=False, server_default=sa.true()))
    op.create_table(
        "mirror_pages",
        sa.Column(
            "index_id",
            sa.Integer,
            sa.ForeignKey("indexes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("project", sa.Text, primary_key=True),
        sa.Column("found", sa.Boolean, nullable=False),
        sa.Column("etag", sa.Text, nullable=True),
        sa.Column("upstream_serial", sa.Integer, nullable=False),
        sa.Column("fetched_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mirror_pages")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("cached")
        batch.drop_column("url")
