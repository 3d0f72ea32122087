//! The public bibliographic catalogue: institutions, researchers and their
//! external identifiers, works, authorships and topics.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Institutions {
    Table,
    Id,
    Name,
    Country,
    Ror,
}

#[derive(DeriveIden)]
pub enum Researchers {
    Table,
    Id,
    Slug,
    DisplayName,
    Orcid,
    OpenToCollaborate,
    AffiliationId,
    WorksCount,
    FollowersCount,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ExternalIds {
    Table,
    Id,
    ResearcherId,
    Scheme,
    Value,
}

#[derive(DeriveIden)]
pub enum Works {
    Table,
    Id,
    Title,
    Abstract,
    Kind,
    Year,
    Venue,
    Doi,
    ArxivId,
    CitedByCount,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Authorships {
    Table,
    WorkId,
    ResearcherId,
    Position,
}

#[derive(DeriveIden)]
enum Topics {
    Table,
    Id,
    Name,
}

#[derive(DeriveIden)]
enum WorkTopics {
    Table,
    WorkId,
    TopicId,
}

fn fk(from: (impl IntoIden, impl IntoIden), to: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

fn index(table: impl IntoIden, name: &str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create().name(name).table(table).to_owned();
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    stmt
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Institutions::Table)
                    .col(big_pk_auto(Institutions::Id))
                    .col(text(Institutions::Name))
                    .col(string_null(Institutions::Country))
                    .col(string_null(Institutions::Ror).unique_key())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Researchers::Table)
                    .col(big_pk_auto(Researchers::Id))
                    .col(string_uniq(Researchers::Slug))
                    .col(text(Researchers::DisplayName))
                    .col(string_null(Researchers::Orcid).unique_key())
                    .col(boolean(Researchers::OpenToCollaborate).default(false))
                    .col(big_integer_null(Researchers::AffiliationId))
                    // Counters kept in the same transaction as the rows they count,
                    // so ordering and filtering by them never aggregates.
                    .col(integer(Researchers::WorksCount).default(0))
                    .col(integer(Researchers::FollowersCount).default(0))
                    .col(timestamp_with_time_zone(Researchers::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Researchers::Table, Researchers::AffiliationId)
                            .to(Institutions::Table, Institutions::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ExternalIds::Table)
                    .col(big_pk_auto(ExternalIds::Id))
                    .col(big_integer(ExternalIds::ResearcherId))
                    .col(string(ExternalIds::Scheme))
                    .col(string(ExternalIds::Value))
                    .foreign_key(&mut fk(
                        (ExternalIds::Table, ExternalIds::ResearcherId),
                        (Researchers::Table, Researchers::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Works::Table)
                    .col(big_pk_auto(Works::Id))
                    .col(text(Works::Title))
                    .col(text_null(Works::Abstract))
                    .col(string(Works::Kind))
                    .col(integer_null(Works::Year))
                    .col(text_null(Works::Venue))
                    .col(string_null(Works::Doi).unique_key())
                    .col(string_null(Works::ArxivId).unique_key())
                    .col(integer(Works::CitedByCount).default(0))
                    .col(timestamp_with_time_zone(Works::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Authorships::Table)
                    .col(big_integer(Authorships::WorkId))
                    .col(big_integer(Authorships::ResearcherId))
                    .col(integer(Authorships::Position))
                    .primary_key(Index::create().col(Authorships::WorkId).col(Authorships::ResearcherId))
                    .foreign_key(&mut fk((Authorships::Table, Authorships::WorkId), (Works::Table, Works::Id)))
                    .foreign_key(&mut fk(
                        (Authorships::Table, Authorships::ResearcherId),
                        (Researchers::Table, Researchers::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Topics::Table)
                    .col(big_pk_auto(Topics::Id))
                    .col(string_uniq(Topics::Name))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WorkTopics::Table)
                    .col(big_integer(WorkTopics::WorkId))
                    .col(big_integer(WorkTopics::TopicId))
                    .primary_key(Index::create().col(WorkTopics::WorkId).col(WorkTopics::TopicId))
                    .foreign_key(&mut fk((WorkTopics::Table, WorkTopics::WorkId), (Works::Table, Works::Id)))
                    .foreign_key(&mut fk((WorkTopics::Table, WorkTopics::TopicId), (Topics::Table, Topics::Id)))
                    .to_owned(),
            )
            .await?;

        // One index per keyset order and per filter; every order ends in id so
        // that ties are broken by it and the index serves the whole cursor.
        let indexes = [
            index(ExternalIds::Table, "ux_external_ids_scheme_value", &["scheme", "value"]).unique().to_owned(),
            index(ExternalIds::Table, "ix_external_ids_researcher", &["researcher_id"]),
            index(Researchers::Table, "ix_researchers_display_name", &["display_name", "id"]),
            index(Researchers::Table, "ix_researchers_works_count", &["works_count", "id"]),
            index(Researchers::Table, "ix_researchers_followers_count", &["followers_count", "id"]),
            index(Researchers::Table, "ix_researchers_affiliation", &["affiliation_id", "display_name", "id"]),
            index(Works::Table, "ix_works_title", &["title", "id"]),
            index(Works::Table, "ix_works_cited_by_count", &["cited_by_count", "id"]),
            index(Authorships::Table, "ix_authorships_researcher", &["researcher_id", "work_id"]),
            index(WorkTopics::Table, "ix_work_topics_topic", &["topic_id", "work_id"]),
        ];
        for stmt in indexes {
            manager.create_index(stmt).await?;
        }
        // Works without a year sort as year 0; the expression index serves
        // that order on both databases.
        manager
            .get_connection()
            .execute_unprepared("CREATE INDEX ix_works_year ON works ((COALESCE(year, 0)), id)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WorkTopics::Table.into_iden(),
            Topics::Table.into_iden(),
            Authorships::Table.into_iden(),
            Works::Table.into_iden(),
            ExternalIds::Table.into_iden(),
            Researchers::Table.into_iden(),
            Institutions::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
