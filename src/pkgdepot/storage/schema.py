"""The metadata tables (SQLAlchemy Core). Changes to them go with an Alembic migration."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

changelog = sa.Table(
    "changelog",
    metadata,
    sa.Column("serial", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("who", sa.Text, nullable=True),
    sa.Column("changes", sa.JSON, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("pwhash", sa.Text, nullable=True),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("created", sa.Text, nullable=False),
    sa.Column("modified", sa.Text, nullable=False),
    sa.Column("serial", sa.Integer, nullable=False),
)

indexes = sa.Table(
    "indexes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user", sa.Text, sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("serial", sa.Integer, nullable=False),
    sa.UniqueConstraint("user", "name", name="uq_indexes_user_name"),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column(
        "index_id", sa.Integer, sa.ForeignKey("indexes.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("serial", sa.Integer, nullable=False),
)

releases = sa.Table(
    "releases",
    metadata,
    sa.Column(
        "index_id", sa.Integer, sa.ForeignKey("indexes.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("project", sa.Text, primary_key=True),
    sa.Column("version", sa.Text, primary_key=True),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("serial", sa.Integer, nullable=False),
)

files = sa.Table(
    "files",
    metadata,
    sa.Column(
        "index_id", sa.Integer, sa.ForeignKey("indexes.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("relpath", sa.Text, primary_key=True),
    sa.Column("project", sa.Text, nullable=False),
    sa.Column("version", sa.Text, nullable=False),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=True),
    sa.Column("upload_time", sa.Text, nullable=True),
    sa.Column("requires_python", sa.Text, nullable=True),
    sa.Column("yanked", sa.Text, nullable=True),
    sa.Column("core_metadata_sha256", sa.Text, nullable=True),
    sa.Column("for_relpath", sa.Text, nullable=True),
    # the file as a simple page lists it, rendered when stored or yanked
    sa.Column("html_link", sa.Text, nullable=True),
    sa.Column("json_link", sa.Text, nullable=True),
    sa.Column("log", sa.JSON, nullable=False),
    sa.Column("serial", sa.Integer, nullable=False),
    # mirrors: where the file comes from, and whether its bytes are here yet
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("cached", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Index("ix_files_project", "index_id", "project", "version"),
)

# What a mirror last heard from its upstream about one project (its links live in ``files``).
mirror_pages = sa.Table(
    "mirror_pages",
    metadata,
    sa.Column(
        "index_id", sa.Integer, sa.ForeignKey("indexes.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("project", sa.Text, primary_key=True),
    sa.Column("found", sa.Boolean, nullable=False),  # False: the upstream answered 404
    sa.Column("etag", sa.Text, nullable=True),
    sa.Column("upstream_serial", sa.Integer, nullable=False),  # -1: the upstream sent none
    sa.Column("fetched_at", sa.Float, nullable=False),  # Unix time of the last good answer
)

deleted_files = sa.Table(
    "deleted_files",
    metadata,
    sa.Column("index_path", sa.Text, primary_key=True),
    sa.Column("relpath", sa.Text, primary_key=True),
    sa.Column("serial", sa.Integer, nullable=False),
)
