//! Build one validated `Store` from raw `(field, value)` pairs: per-field normalisation,
//! then the required-for-create and cross-field rules.

use crate::ids::StoreId;
use std::sync::Arc;

use super::{normalise, normalise_store_id, Field, FieldValues, Store};

/// One problem found in a row: the field it concerns (None for the row as a whole) and why.
pub type Problem = (Option<Field>, String);

/// Normalise each value, then check the fields a create needs and the cross-field rules
/// (area code hierarchy; `is_operating_online=T` needs `online_url`). All problems are
/// returned, not only the first. A field given twice is a problem.
pub fn build_store(
    store_id: &str,
    line: u64,
    values: &[(Field, String)],
) -> Result<Store, Vec<Problem>> {
    build_store_from(
        store_id,
        line,
        values.iter().map(|(f, v)| (*f, v.as_str())),
        None,
    )
}

/// [`build_store`] over borrowed raw values, with `defaults` (already canonical, shared by
/// every row of a load) for the fields the row leaves empty.
pub fn build_store_from<'a>(
    store_id: &str,
    line: u64,
    values: impl IntoIterator<Item = (Field, &'a str)>,
    defaults: Option<&Arc<FieldValues>>,
) -> Result<Store, Vec<Problem>> {
    let mut problems: Vec<Problem> = Vec::new();
    let store_id = match normalise_store_id(store_id) {
        Ok(id) => id,
        Err(reason) => {
            problems.push((None, reason));
            String::new()
        }
    };
    let bit = |f: Field| 1u64 << (f as u8);
    // Fields seen (valid, empty or broken), and the broken ones.
    let (mut seen, mut broken) = (0u64, 0u64);
    let mut fields: Vec<(Field, String)> = Vec::with_capacity(Field::ALL.len());
    for (field, raw) in values {
        if seen & bit(field) != 0 {
            problems.push((Some(field), "given twice".to_string()));
            continue;
        }
        seen |= bit(field);
        match normalise(field, raw) {
            Ok(Some(v)) => fields.push((field, v)),
            Ok(None) => {}
            Err(reason) => {
                broken |= bit(field);
                problems.push((Some(field), reason));
            }
        }
    }
    let own = FieldValues::from_pairs(fields);
    let fields = match defaults {
        Some(d) => FieldValues::with_base(own, d),
        None => own,
    };
    for field in Field::ALL {
        if field.required_for_create() && !fields.contains(field) && broken & bit(field) == 0 {
            problems.push((Some(field), "required for create but empty".to_string()));
        }
    }
    let get = |f: Field| fields.get(f);
    if let (Some(p), Some(c)) = (get(Field::ProvinceCode), get(Field::CityCode)) {
        if p[..2] != c[..2] {
            problems.push((
                Some(Field::CityCode),
                format!("city {c} is not in province {p}"),
            ));
        }
    }
    if let (Some(c), Some(d)) = (get(Field::CityCode), get(Field::DistrictCode)) {
        if c[..4] != d[..4] {
            problems.push((
                Some(Field::DistrictCode),
                format!("district {d} is not in city {c}"),
            ));
        }
    }
    if get(Field::IsOperatingOnline) == Some("T") && get(Field::OnlineUrl).is_none() {
        problems.push((
            Some(Field::OnlineUrl),
            "is_operating_online is T but online_url is empty".to_string(),
        ));
    }
    if problems.is_empty() {
        Ok(Store {
            store_id: StoreId::new(store_id),
            line,
            fields,
        })
    } else {
        Err(problems)
    }
}
