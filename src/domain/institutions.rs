//! Institutions: lookups by id.
use std::collections::HashMap;

use entity::institution;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::error::AppResult;

/// A university, institute or company that researchers are affiliated with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Institution {
    pub id: i64,
    pub name: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// The Research Organization Registry id.
    pub ror: Option<String>,
}

impl From<institution::Model> for Institution {
    fn from(row: institution::Model) -> Self {
        Self { id: row.id, name: row.name, country: row.country, ror: row.ror }
    }
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, Institution>> {
    let rows = institution::Entity::find().filter(institution::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(|i| (i.id, i.into())).collect())
}
