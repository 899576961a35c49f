"""two-factor login: TOTP credentials, recovery codes, a contract's requirement

Revision ID: c7d2e5f1a9b3
Revises: a2a4c9a630d0
Create Date: 2026-12-04 17:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7d2e5f1a9b3'
down_revision = 'a2a4c9a630d0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('totp_credential',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('enabled_at', sa.DateTime(), nullable=True),
    sa.Column('last_step', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['portal_user.id'], name=op.f('fk_totp_credential_user_id_portal_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_totp_credential'))
    )
    op.create_table('recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['portal_user.id'], name=op.f('fk_recovery_code_user_id_portal_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code')),
    sa.UniqueConstraint('code_digest', name=op.f('uq_recovery_code_code_digest')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requires_two_factor', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_column('requires_two_factor')

    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))

    op.drop_table('recovery_code')
    op.drop_table('totp_credential')
