//! The simulator's source stays independent and readable: its modules import each other as
//! a tree (no cycle, nothing re-imported from `sim/mod.rs`), it uses nothing of the client
//! but RSA keys, timestamps and the clock, and no file grows past ~500 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn sim_sources() -> BTreeMap<String, String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/sim");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Code lines only: line comments and doc comments dropped.
fn code(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first path segment after each `super::` (the items of a `super::{…}` group).
fn super_targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("super::") {
        rest = &rest[i + "super::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        out.push(ident(&group[j..]).to_string());
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest).to_string());
        }
    }
    out
}

#[test]
fn sim_modules_import_each_other_as_a_tree() {
    let sources = sim_sources();
    let modules: BTreeSet<&str> = sources.keys().map(String::as_str).collect();
    let mut graph: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut via_root = Vec::new();
    for (name, text) in &sources {
        if name == "mod" {
            continue;
        }
        let body = code(text);
        // `mod tests` inside a file uses `super::*` for its own parent: not an edge.
        let body = body.split("#[cfg(test)]").next().unwrap_or("");
        // Inline `mod x { … }` blocks reach each other through `super::x`: not an edge.
        let inline: BTreeSet<&str> = body
            .match_indices("mod ")
            .map(|(i, _)| ident(&body[i + 4..]))
            .filter(|m| body.contains(&format!("mod {m} {{")))
            .collect();
        for t in super_targets(body) {
            if inline.contains(t.as_str()) {
                continue;
            }
            if modules.contains(t.as_str()) && t != "mod" {
                graph.entry(name).or_default().insert(t);
            } else {
                via_root.push(format!("{name}: super::{t}"));
            }
        }
    }
    assert!(
        via_root.is_empty(),
        "import from the defining module, not sim/mod.rs: {via_root:?}"
    );
    // Depth-first search for a back edge.
    fn visit<'a>(
        n: &'a str,
        graph: &'a BTreeMap<&str, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| *p == n) {
            let mut cycle: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n);
        for next in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(next.as_str(), graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n);
        None
    }
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        let cycle = visit(n, &graph, &mut Vec::new(), &mut done);
        assert!(
            cycle.is_none(),
            "import cycle in src/sim: {:?}",
            cycle.unwrap()
        );
    }
    // The shared state is a leaf of the tasks that use it.
    let shared = &graph["shared"];
    for user in [
        "server", "gateway", "v3", "control", "notify", "handle", "ops", "dispatch",
    ] {
        assert!(!shared.contains(user), "shared imports its user {user}");
    }
}

#[test]
fn sim_uses_nothing_of_the_client_but_keys_timestamps_and_the_clock() {
    const ALLOWED: [&str; 3] = [
        "crate::alipay::sign::",
        "crate::alipay::timestamp",
        "crate::clock::",
    ];
    let mut found = Vec::new();
    for (name, text) in sim_sources() {
        let body = code(&text);
        for (i, _) in body.match_indices("crate::") {
            let path = &body[i..];
            if !ALLOWED.iter().any(|a| path.starts_with(a)) {
                found.push(format!("{name}: {}", path.lines().next().unwrap_or("")));
            }
        }
        for banned in [
            "request_sign_content",
            "notify_sign_content",
            "verify_notification",
        ] {
            if body.contains(banned) {
                found.push(format!("{name}: {banned}"));
            }
        }
        // From `alipay::sign` only the RSA primitives.
        for (i, _) in body.match_indices("crate::alipay::sign::") {
            let used = &body[i + "crate::alipay::sign::".len()..];
            let used = used.split(';').next().unwrap_or("");
            let names = used.trim_matches(|c| c == '{' || c == '}');
            for n in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                if !["SignKey", "VerifyKey", "KeyError"].contains(&n) {
                    found.push(format!("{name}: alipay::sign::{n}"));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "client code used by the simulator: {found:#?}"
    );
}

#[test]
fn sim_files_stay_under_500_lines() {
    let long: Vec<String> = sim_sources()
        .into_iter()
        .map(|(n, t)| (n, t.lines().count()))
        .filter(|(_, lines)| *lines > 500)
        .map(|(n, lines)| format!("src/sim/{n}.rs: {lines} lines"))
        .collect();
    assert!(long.is_empty(), "{long:?}");
}
