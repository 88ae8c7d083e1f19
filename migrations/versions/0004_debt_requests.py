"""debt requests: subrequests, answers, documents, history, send batches

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "debt_send_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("operation_id", sa.Uuid(), nullable=True),
        sa.Column("exchange_id", sa.Uuid(), nullable=True),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("error_text", sa.Text(), nullable=True),
        sa.Column("finished_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_debt_send_batches_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debt_send_batches")),
    )
    with op.batch_alter_table("debt_send_batches", schema=None) as batch_op:
        batch_op.create_index("ix_debt_send_batches_org_status", ["organisation_id", "status"], unique=False)

    op.create_table(
        "debt_subrequests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("subrequest_guid", sa.Uuid(), nullable=False),
        sa.Column("request_guid", sa.Uuid(), nullable=False),
        sa.Column("request_number", sa.String(length=30), nullable=False),
        sa.Column("sender_org_guid", sa.Uuid(), nullable=True),
        sa.Column("sender_org_name", sa.String(length=500), nullable=False),
        sa.Column("sender_org_tel", sa.String(length=40), nullable=True),
        sa.Column("house_guid", sa.Uuid(), nullable=True),
        sa.Column("hm_object_guid", sa.Uuid(), nullable=True),
        sa.Column("address_type", sa.String(length=20), nullable=True),
        sa.Column("fias_house_guid", sa.Uuid(), nullable=True),
        sa.Column("address", sa.String(length=4000), nullable=False),
        sa.Column("address_norm", sa.String(length=4000), nullable=False),
        sa.Column("premises", sa.String(length=200), nullable=True),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("sent_date", sa.Date(), nullable=False),
        sa.Column("response_date", sa.Date(), nullable=False),
        sa.Column("gis_request_status", sa.String(length=20), nullable=False),
        sa.Column("gis_response_status", sa.String(length=20), nullable=False),
        sa.Column("requester_executor_guid", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("auto_answered", sa.Boolean(), nullable=False),
        sa.Column("matched_account_ids", sa.JSON(), nullable=True),
        sa.Column("match_quality", sa.String(length=20), nullable=True),
        sa.Column("matched_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("debt_sum", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("debt_months", sa.Integer(), nullable=True),
        sa.Column("send_batch_id", sa.Uuid(), nullable=True),
        sa.Column("last_error_code", sa.String(length=40), nullable=True),
        sa.Column("last_error_text", sa.Text(), nullable=True),
        sa.Column("fetched_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_debt_subrequests_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debt_subrequests")),
        sa.UniqueConstraint(
            "organisation_id",
            "subrequest_guid",
            name=op.f("uq_debt_subrequests_organisation_id_subrequest_guid"),
        ),
    )
    with op.batch_alter_table("debt_subrequests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_debt_subrequests_org_deadline", ["organisation_id", "response_date"], unique=False
        )
        batch_op.create_index(
            "ix_debt_subrequests_org_fias", ["organisation_id", "fias_house_guid"], unique=False
        )
        batch_op.create_index(
            "ix_debt_subrequests_org_number", ["organisation_id", "request_number"], unique=False
        )
        batch_op.create_index(
            "ix_debt_subrequests_org_status_deadline",
            ["organisation_id", "status", "response_date"],
            unique=False,
        )
        batch_op.create_index("ix_debt_subrequests_send_batch_id", ["send_batch_id"], unique=False)

    op.create_table(
        "debt_answers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subrequest_id", sa.Uuid(), nullable=False),
        sa.Column("has_debt", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("executor_guid", sa.Uuid(), nullable=False),
        sa.Column("defendants", sa.JSON(), nullable=False),
        sa.Column("debt_guids", sa.JSON(), nullable=False),
        sa.Column("additional_document_ids", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("prepared_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subrequest_id"],
            ["debt_subrequests.id"],
            name=op.f("fk_debt_answers_subrequest_id_debt_subrequests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debt_answers")),
        sa.UniqueConstraint("subrequest_id", name=op.f("uq_debt_answers_subrequest_id")),
    )
    op.create_table(
        "debt_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subrequest_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("nsi_code", sa.String(length=20), nullable=False),
        sa.Column("nsi_guid", sa.Uuid(), nullable=False),
        sa.Column("nsi_name", sa.String(length=500), nullable=True),
        sa.Column("file_name", sa.String(length=1024), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("gost94_hash", sa.String(length=64), nullable=False),
        sa.Column("file_guid", sa.Uuid(), nullable=True),
        sa.Column("uploaded_at", app.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_debt_documents_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subrequest_id"],
            ["debt_subrequests.id"],
            name=op.f("fk_debt_documents_subrequest_id_debt_subrequests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debt_documents")),
    )
    with op.batch_alter_table("debt_documents", schema=None) as batch_op:
        batch_op.create_index("ix_debt_documents_subrequest_id", ["subrequest_id"], unique=False)

    op.create_table(
        "debt_request_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subrequest_id", sa.Uuid(), nullable=False),
        sa.Column("at", app.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("exchange_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subrequest_id"],
            ["debt_subrequests.id"],
            name=op.f("fk_debt_request_history_subrequest_id_debt_subrequests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debt_request_history")),
    )
    with op.batch_alter_table("debt_request_history", schema=None) as batch_op:
        batch_op.create_index("ix_debt_request_history_subrequest_id", ["subrequest_id", "id"], unique=False)

    op.create_table(
        "debt_send_items",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("subrequest_id", sa.Uuid(), nullable=False),
        sa.Column("transport_guid", sa.Uuid(), nullable=False),
        sa.Column("result", sa.String(length=10), nullable=False),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("error_text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["debt_send_batches.id"],
            name=op.f("fk_debt_send_items_batch_id_debt_send_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subrequest_id"],
            ["debt_subrequests.id"],
            name=op.f("fk_debt_send_items_subrequest_id_debt_subrequests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("batch_id", "subrequest_id", name=op.f("pk_debt_send_items")),
        sa.UniqueConstraint("transport_guid", name=op.f("uq_debt_send_items_transport_guid")),
    )
    with op.batch_alter_table("debt_send_items", schema=None) as batch_op:
        batch_op.create_index("ix_debt_send_items_subrequest_id", ["subrequest_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("debt_send_items", schema=None) as batch_op:
        batch_op.drop_index("ix_debt_send_items_subrequest_id")

    op.drop_table("debt_send_items")
    with op.batch_alter_table("debt_request_history", schema=None) as batch_op:
        batch_op.drop_index("ix_debt_request_history_subrequest_id")

    op.drop_table("debt_request_history")
    with op.batch_alter_table("debt_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_debt_documents_subrequest_id")

    op.drop_table("debt_documents")
    op.drop_table("debt_answers")
    with op.batch_alter_table("debt_subrequests", schema=None) as batch_op:
        batch_op.drop_index("ix_debt_subrequests_send_batch_id")
        batch_op.drop_index("ix_debt_subrequests_org_status_deadline")
        batch_op.drop_index("ix_debt_subrequests_org_number")
        batch_op.drop_index("ix_debt_subrequests_org_fias")
        batch_op.drop_index("ix_debt_subrequests_org_deadline")

    op.drop_table("debt_subrequests")
    with op.batch_alter_table("debt_send_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_debt_send_batches_org_status")

    op.drop_table("debt_send_batches")
