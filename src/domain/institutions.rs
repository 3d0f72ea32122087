//! Institutions: lookups by id.
use std::collections::HashMap;

use entity::institution;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::error::AppResult;

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, institution::Model>> {
    let rows = institution::Entity::find().filter(institution::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(|i| (i.id, i)).collect())
}
