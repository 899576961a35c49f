"""login session: when the password was last given (re-authentication window)

Revision ID: b7e3f1c2d9a4
Revises: c7d2e5f1a9b3
Create Date: 2026-12-04 17:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e3f1c2d9a4'
down_revision = 'c7d2e5f1a9b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authenticated_at', sa.DateTime(), nullable=True))
    # A login open before this column: its password was given when it began.
    op.execute("UPDATE login_session SET authenticated_at = created_at")


def downgrade():
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_column('authenticated_at')
