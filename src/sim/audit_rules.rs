//! The §8.5 rejection rules whose stage is configurable (`sync`: answered at once as a
//! §8.4 check; `audit`: the application fails when the audit runs; `off`), and the value
//! grammars they use.

use std::collections::{BTreeMap, BTreeSet};

use super::config::{RuleStages, SimConfig, Stage};
use super::rules::{self, get, list, Check, Kind, REJECT_MARKER};

/// `main_shop_name` carries a branch part: `…店`, `(…店)`, `（…店）`, `【…店】`, `[…店]`, `<…店>`.
pub fn has_branch_part(name: &str) -> bool {
    name.ends_with('店')
        || ["店)", "店）", "店】", "店]", "店>"]
            .iter()
            .any(|s| name.contains(s))
}

/// `business_time` grammar (§4.2): one or two segments `<day>[-<day>] HH:mm-HH:mm` with
/// non-overlapping days, or a bare range meaning every day.
pub fn business_time_ok(v: &str) -> bool {
    const DAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
    let segs: Vec<&str> = v.split(',').collect();
    if segs.is_empty() || segs.len() > 2 {
        return false;
    }
    let hm = |s: &str| {
        let b = s.as_bytes();
        b.len() == 5
            && b[2] == b':'
            && b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit)
            && s[..2].parse::<u32>().is_ok_and(|h| h < 24)
            && s[3..].parse::<u32>().is_ok_and(|m| m < 60)
    };
    let range = |s: &str| {
        let mut it = s.split('-');
        matches!((it.next(), it.next(), it.next()), (Some(a), Some(b), None) if hm(a) && hm(b))
    };
    let mut covered = [false; 7];
    for seg in segs {
        let (days, times) = match seg.split_once(' ') {
            Some((d, t)) => (Some(d), t),
            None => (None, seg),
        };
        if !range(times) {
            return false;
        }
        let idx = |x: &str| DAYS.iter().position(|y| *y == x);
        let (from, to) = match days {
            None => (0, 6),
            Some(d) => match d.split_once('-') {
                Some((a, b)) => match (idx(a), idx(b)) {
                    (Some(a), Some(b)) if a <= b => (a, b),
                    _ => return false,
                },
                None => match idx(d) {
                    Some(a) => (a, a),
                    None => return false,
                },
            },
        };
        for c in covered.iter_mut().take(to + 1).skip(from) {
            if *c {
                return false;
            }
            *c = true;
        }
    }
    true
}

/// Licence data, or `is_operating_online=T` with `online_url`.
pub fn has_licence(p: &BTreeMap<String, String>) -> bool {
    let licence = get(p, "licence").is_some() || get(p, "licence_code").is_some();
    let online = get(p, "is_operating_online") == Some("T") && get(p, "online_url").is_some();
    licence || online
}

fn too_long_or_short(p: &BTreeMap<String, String>, name: &str) -> bool {
    let (min, max) = rules::text_bounds(name);
    get(p, name).is_some_and(|v| !(min..=max).contains(&v.chars().count()))
}

fn name_lengths_bad(p: &BTreeMap<String, String>) -> bool {
    too_long_or_short(p, "main_shop_name") || too_long_or_short(p, "branch_shop_name")
}

fn distinct_images(p: &BTreeMap<String, String>) -> usize {
    get(p, "audit_images")
        .map(|v| list(v).collect::<BTreeSet<_>>().len())
        .unwrap_or(0)
}

/// One stage rule: its stage, whether the data breaks it, the §8.4 check it answers at the
/// sync stage, and the reason an audit gives.
struct StageRule {
    stage: fn(&RuleStages) -> Stage,
    check: Check,
    /// `(data, cfg, kind)`: the data is the request at sync stage, the shop's data after
    /// approval at audit stage.
    breaks: fn(&BTreeMap<String, String>, &SimConfig, Kind) -> bool,
    reason: fn(&SimConfig) -> String,
}

/// In the order the sync stage checks them (§8.4) and the audit evaluates them (§8.5).
const STAGE_RULES: [StageRule; 7] = [
    StageRule {
        stage: |r| r.min_audit_images,
        check: Check::AuditImages,
        breaks: |p, cfg, _| distinct_images(p) < cfg.min_audit_images,
        reason: |cfg| {
            format!(
                "门店照片不足：至少需要{}张不同的门店照片",
                cfg.min_audit_images
            )
        },
    },
    StageRule {
        stage: |r| r.branch_in_main_name,
        check: Check::BranchInMainName,
        breaks: |p, _, _| get(p, "main_shop_name").is_some_and(has_branch_part),
        reason: |_| "主门店名中不能包含分店名".into(),
    },
    StageRule {
        stage: |r| r.name_lengths,
        check: Check::NameLength,
        breaks: |p, _, _| name_lengths_bad(p),
        reason: |_| "门店名称长度不符合要求".into(),
    },
    StageRule {
        stage: |r| r.address_length,
        check: Check::AddressLength,
        breaks: |p, _, _| too_long_or_short(p, "address"),
        reason: |_| "门店地址长度不符合要求".into(),
    },
    StageRule {
        stage: |r| r.business_time,
        check: Check::BusinessTime,
        breaks: |p, _, _| get(p, "business_time").is_some_and(|v| !business_time_ok(v)),
        reason: |_| "营业时间格式不正确".into(),
    },
    StageRule {
        stage: |r| r.licence_required,
        check: Check::LicenceRequired,
        breaks: |p, _, kind| kind == Kind::Create && !has_licence(p),
        reason: |_| "缺少营业执照或其他平台经营信息".into(),
    },
    StageRule {
        stage: |r| r.reject_marker,
        check: Check::RejectMarker,
        breaks: |p, _, _| p.values().any(|v| v.contains(REJECT_MARKER)),
        reason: |_| "您提交的信息未通过风险审核（#REJECT#）".into(),
    },
];

/// The first sync-stage rule the request breaks. The image-count rule applies to a modify
/// only when it sends `audit_images`; the licence rule is checked later in §8.4 order.
pub fn failing_at(
    stage: Stage,
    kind: Kind,
    p: &BTreeMap<String, String>,
    cfg: &SimConfig,
) -> Option<Check> {
    let order = [2, 3, 4, 1, 0, 6];
    order.into_iter().map(|i| &STAGE_RULES[i]).find_map(|r| {
        let applies = r.check != Check::AuditImages
            || kind == Kind::Create
            || get(p, "audit_images").is_some();
        ((r.stage)(&cfg.rules) == stage && applies && (r.breaks)(p, cfg, kind)).then_some(r.check)
    })
}

/// Audit-stage rules over the data the shop would have after approval: `Some(reason)`
/// fails the application.
pub fn audit_rejection(
    cfg: &SimConfig,
    data: &BTreeMap<String, String>,
    create: bool,
) -> Option<String> {
    let kind = if create { Kind::Create } else { Kind::Modify };
    STAGE_RULES
        .iter()
        .find(|r| (r.stage)(&cfg.rules) == Stage::Audit && (r.breaks)(data, cfg, kind))
        .map(|r| (r.reason)(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_time_grammar() {
        assert!(business_time_ok("周一-周五 09:00-20:00"));
        assert!(business_time_ok(
            "周一-周五 09:00-20:00,周六-周日 10:00-22:00"
        ));
        assert!(business_time_ok("10:00-14:00"));
        assert!(!business_time_ok(
            "周一-周五 09:00-20:00,周五-周日 10:00-22:00"
        ));
        assert!(!business_time_ok("周一-周五 9:00-20:00"));
        assert!(!business_time_ok("Mon 09:00-20:00"));
    }

    #[test]
    fn branch_parts() {
        assert!(has_branch_part("海底捞南京西路店"));
        assert!(has_branch_part("海底捞（南京西路店）火锅"));
        assert!(!has_branch_part("海底捞火锅"));
    }
}
