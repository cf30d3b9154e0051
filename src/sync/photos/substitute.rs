//! Put the issued image ids into the planned writes: every placeholder item of a
//! create's fields or a modify's new values becomes the id Alipay issued for that source's
//! content. A store with an item left over (its upload failed or never ran) is reported
//! and must not be written.

use std::collections::HashMap;

use crate::ids::StoreId;
use crate::record::image::items;
use crate::record::Field;
use crate::sync::plan::{placeholder_source, Action, Plan, PHOTO_PLACEHOLDER};

/// A photo a store's write still waits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub field: Field,
    pub source: String,
}

/// `value` with its placeholders replaced: `Ok(None)` when it has none, `Err` naming the
/// first source without an id.
fn replace(value: &str, ids: &HashMap<String, String>) -> Result<Option<String>, String> {
    if !value.contains(PHOTO_PLACEHOLDER) {
        return Ok(None);
    }
    let mut out: Vec<&str> = Vec::new();
    for item in items(value) {
        match placeholder_source(item) {
            Some(source) => match ids.get(source) {
                Some(id) => out.push(id),
                None => return Err(source.to_string()),
            },
            None => out.push(item),
        }
    }
    Ok(Some(out.join(",")))
}

/// Substitute `ids` (source → image id) into every create and modify of `plan`. Returns
/// the stores whose writes still hold a placeholder (left as they were).
pub fn substitute(plan: &mut Plan, ids: &HashMap<String, String>) -> Vec<(StoreId, Unresolved)> {
    let mut unresolved = Vec::new();
    for item in &mut plan.items {
        let Some(store) = &item.store_id else {
            continue;
        };
        match &mut item.action {
            Action::Create { fields } => {
                let mut set = Vec::new();
                let mut missing = None;
                for (field, value) in fields.iter().filter(|(f, _)| f.holds_images()) {
                    match replace(value, ids) {
                        Ok(Some(v)) => set.push((field, v)),
                        Ok(None) => {}
                        Err(source) => {
                            missing.get_or_insert(Unresolved { field, source });
                        }
                    }
                }
                match missing {
                    Some(m) => unresolved.push((store.clone(), m)),
                    None if !set.is_empty() => *fields = fields.with_replaced(&set),
                    None => {}
                }
            }
            Action::Modify { changes, .. } => {
                let mut set = Vec::new();
                let mut missing = None;
                for (i, c) in changes.iter().enumerate() {
                    let Some(new) = c.new.as_deref().filter(|_| c.field.holds_images()) else {
                        continue;
                    };
                    match replace(new, ids) {
                        Ok(Some(v)) => set.push((i, v)),
                        Ok(None) => {}
                        Err(source) => {
                            missing.get_or_insert(Unresolved {
                                field: c.field,
                                source,
                            });
                        }
                    }
                }
                match missing {
                    Some(m) => unresolved.push((store.clone(), m)),
                    None => {
                        for (i, v) in set {
                            changes[i].new = Some(v);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    unresolved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_ids_and_leftovers_are_named() {
        let ids: HashMap<String, String> = [("a.jpg".to_string(), "IDA".to_string())].into();
        assert_eq!(
            replace("X,upload:a.jpg@sha256:0123456789abcdef", &ids),
            Ok(Some("X,IDA".into()))
        );
        assert_eq!(replace("X,Y", &ids), Ok(None));
        assert_eq!(
            replace("upload:b.jpg@sha256:00,upload:a.jpg@sha256:11", &ids),
            Err("b.jpg".into())
        );
    }
}
