//! Signed-in users and what they do to author records: follows, claims and
//! collaboration invitations.
use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_catalogue::Researchers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Subject,
    Orcid,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Follows {
    Table,
    UserId,
    ResearcherId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Claims {
    Table,
    Id,
    UserId,
    ResearcherId,
    Status,
    Method,
    Message,
    ReviewNote,
    ReviewerId,
    CreatedAt,
    DecidedAt,
}

#[derive(DeriveIden)]
enum CollaborationInvites {
    Table,
    Id,
    FromUserId,
    ResearcherId,
    Message,
    Status,
    CreatedAt,
    RespondedAt,
}

fn cascade(from: (impl IntoIden, impl IntoIden), to: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    // The identity provider's `sub`: unique, so that the first
                    // requests of a new user race to one row.
                    .col(string_uniq(Users::Subject))
                    .col(string_null(Users::Orcid))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Follows::Table)
                    .col(big_integer(Follows::UserId))
                    .col(big_integer(Follows::ResearcherId))
                    .col(timestamp_with_time_zone(Follows::CreatedAt))
                    // The primary key makes a follow idempotent in the database.
                    .primary_key(Index::create().col(Follows::UserId).col(Follows::ResearcherId))
                    .foreign_key(&mut cascade((Follows::Table, Follows::UserId), (Users::Table, Users::Id)))
                    .foreign_key(&mut cascade(
                        (Follows::Table, Follows::ResearcherId),
                        (Researchers::Table, Researchers::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Claims::Table)
                    .col(big_pk_auto(Claims::Id))
                    .col(big_integer(Claims::UserId))
                    .col(big_integer(Claims::ResearcherId))
                    .col(string(Claims::Status))
                    .col(string_null(Claims::Method))
                    .col(text_null(Claims::Message))
                    .col(text_null(Claims::ReviewNote))
                    .col(big_integer_null(Claims::ReviewerId))
                    .col(timestamp_with_time_zone(Claims::CreatedAt))
                    .col(timestamp_with_time_zone_null(Claims::DecidedAt))
                    .foreign_key(&mut cascade((Claims::Table, Claims::UserId), (Users::Table, Users::Id)))
                    .foreign_key(&mut cascade(
                        (Claims::Table, Claims::ResearcherId),
                        (Researchers::Table, Researchers::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CollaborationInvites::Table)
                    .col(big_pk_auto(CollaborationInvites::Id))
                    .col(big_integer(CollaborationInvites::FromUserId))
                    .col(big_integer(CollaborationInvites::ResearcherId))
                    .col(text(CollaborationInvites::Message))
                    .col(string(CollaborationInvites::Status))
                    .col(timestamp_with_time_zone(CollaborationInvites::CreatedAt))
                    .col(timestamp_with_time_zone_null(CollaborationInvites::RespondedAt))
                    .foreign_key(&mut cascade(
                        (CollaborationInvites::Table, CollaborationInvites::FromUserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (CollaborationInvites::Table, CollaborationInvites::ResearcherId),
                        (Researchers::Table, Researchers::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        crate::execute_all(
            manager,
            &[
            "CREATE INDEX ix_follows_researcher ON follows (researcher_id, user_id)",
            // At most one approved owner per record, enforced by the database
            // (partial unique indexes work on PostgreSQL and SQLite alike).
            "CREATE UNIQUE INDEX ux_claims_one_approved ON claims (researcher_id) WHERE status = 'APPROVED'",
            // A user holds at most one open claim per record, so a repeated
            // claim finds the existing one instead of adding another.
            "CREATE UNIQUE INDEX ux_claims_one_open_per_user ON claims (user_id, researcher_id) WHERE status IN ('PENDING', 'APPROVED')",
            "CREATE INDEX ix_claims_researcher_status ON claims (researcher_id, status)",
            "CREATE INDEX ix_claims_status ON claims (status, id)",
            "CREATE INDEX ix_claims_user ON claims (user_id, id)",
            "CREATE INDEX ix_invites_researcher ON collaboration_invites (researcher_id, id)",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CollaborationInvites::Table.into_iden(),
            Claims::Table.into_iden(),
            Follows::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
