//! A store's whole history, for `shopsync audit store`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::actions::ActionRow;
use super::applications::Application;
use super::notifications::NotificationRow;
use super::rejects::RejectRow;
use super::shopmap::{Mapping, PreviousMapping};
use super::uploads::UploadRow;
use super::{AuditDb, AuditError};
use crate::ids::StoreId;
use crate::record::Field;

impl StoreHistory {
    /// Nothing at all is recorded about this store id.
    pub fn is_empty(&self) -> bool {
        self.mapping.is_none()
            && self.previous_mappings.is_empty()
            && self.detail_shops.is_empty()
            && self.actions.is_empty()
            && self.applications.is_empty()
            && self.notifications.is_empty()
            && self.accepted_values.is_empty()
            && self.rejects.is_empty()
    }
}

/// Everything the audit store knows about one store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreHistory {
    pub store_id: StoreId,
    /// The current store ↔ shop mapping.
    pub mapping: Option<Mapping>,
    /// Mappings replaced over time, oldest first.
    pub previous_mappings: Vec<PreviousMapping>,
    /// querydetail said this shop carries the store_id (it may not be mapped yet).
    pub detail_shops: Vec<String>,
    /// Writes, oldest first.
    pub actions: Vec<ActionRow>,
    /// Applications, newest first.
    pub applications: Vec<Application>,
    /// Notifications received, oldest first.
    pub notifications: Vec<NotificationRow>,
    /// The values Alipay last accepted.
    pub accepted_values: BTreeMap<String, String>,
    /// Export rows with this store id that were rejected, by run.
    pub rejects: Vec<RejectRow>,
    /// Photo uploads this store waited on, or whose image id its writes carried: which
    /// file or URL became which image id (oldest first).
    pub photos: Vec<UploadRow>,
}

impl AuditDb {
    /// Everything about one store. Empty lists (not an error) for a store never seen.
    pub fn store_history(&self, store_id: &StoreId) -> Result<StoreHistory, AuditError> {
        let detail_shops = {
            let conn = self.lock();
            let mut stmt = conn.prepare(
                "SELECT shop_id FROM detail_cache WHERE store_id = ?1
                     AND (?2 IS NULL OR merchant = ?2) ORDER BY shop_id",
            )?;
            let rows = stmt
                .query_map(rusqlite::params![store_id, self.only()], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            rows
        };
        let actions = self.actions_for_store(store_id)?;
        let accepted_values = self.accepted_values_for(store_id)?;
        // The image ids this store's writes carried and Alipay accepted.
        let image_values = actions
            .iter()
            .flat_map(|a| a.fields.iter())
            .chain(accepted_values.iter())
            .filter(|(k, _)| Field::from_name(k).is_some_and(Field::holds_images))
            .flat_map(|(_, v)| crate::record::image::items(v));
        let ids: BTreeSet<&str> = image_values.collect();
        let ids: Vec<&str> = ids.into_iter().collect();
        let photos = self.uploads_for_store(store_id, &ids)?;
        Ok(StoreHistory {
            store_id: store_id.clone(),
            mapping: self.mapping(store_id)?,
            previous_mappings: self.previous_mappings(store_id)?,
            detail_shops,
            applications: self.applications_for_store(store_id)?,
            notifications: self.notifications_for_store(store_id)?,
            rejects: self.rejects_for_store(store_id)?,
            actions,
            accepted_values,
            photos,
        })
    }
}
