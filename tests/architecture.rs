//! The floor plan, checked: every `crate::` and `super::` path in `src/` against the
//! dependency rule written in `src/lib.rs`, and the file-to-file import graph for cycles.
//! Plain text analysis of the sources; no build of anything.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Top-level module → floor, from the "Dependency rule" list in `src/lib.rs`.
fn floors() -> BTreeMap<String, usize> {
    let lib = fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut floors = BTreeMap::new();
    for line in lib.lines() {
        let Some(rest) = line.strip_prefix("//! - floor ") else {
            continue;
        };
        let (number, modules) = rest.split_once(':').expect("floor N: `a`, `b`");
        let floor: usize = number.trim().parse().expect("a floor number");
        for module in modules.split(',') {
            let module = module.trim().trim_matches('`');
            assert!(
                floors.insert(module.to_string(), floor).is_none(),
                "{module} is on two floors"
            );
        }
    }
    assert!(floors.len() > 10, "the rule in lib.rs was not found");
    floors
}

/// Every `.rs` file under `src/` with its module path (`["store", "sled"]` for
/// `src/store/sled/mod.rs`). `main.rs` and `lib.rs` are the crate roots and left out.
fn modules() -> BTreeMap<Vec<String>, PathBuf> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<Vec<String>, PathBuf>) {
        for item in fs::read_dir(dir).unwrap() {
            let path = item.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                let mut inner = prefix.to_vec();
                inner.push(name);
                walk(&path, &inner, out);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let mut module = prefix.to_vec();
                if stem != "mod" {
                    module.push(stem.to_string());
                }
                // `lib.rs` and `main.rs` are the crate roots, above every floor.
                let root = prefix.is_empty() && (stem == "lib" || stem == "main");
                if !module.is_empty() && !root {
                    out.insert(module, path);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&src(), &[], &mut out);
    out
}

/// The code of a file without comment lines and without its inline test module (whose
/// `super` is the file itself).
fn code_of(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text,
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths a file names: `crate::a::b` and `super::c`, with `{…}` groups opened
/// one level (`use super::{x, y}` names `super::x` and `super::y`).
fn references(module: &[String], is_mod_file: bool, code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(start) {
            let begin = from + at;
            from = begin + start.len();
            if begin > 0 && code[..begin].ends_with(|c: char| ident(c) || c == ':') {
                continue; // `foo::super::` or `xcrate::`
            }
            // The module this path starts from.
            let mut base: Vec<String> = if start == "crate::" {
                Vec::new()
            } else {
                // A `mod.rs` is its folder's module; `super` of `a::b` is `a`.
                let mut parent = module.to_vec();
                parent.pop();
                let _ = is_mod_file;
                parent
            };
            let rest = &code[from..];
            let mut segments: Vec<String> = Vec::new();
            let mut pos = 0;
            loop {
                let word: String = rest[pos..].chars().take_while(|c| ident(*c)).collect();
                if word.is_empty() {
                    break;
                }
                pos += word.len();
                if word == "super" {
                    base.pop();
                } else {
                    segments.push(word);
                }
                if rest[pos..].starts_with("::") {
                    pos += 2;
                } else {
                    break;
                }
            }
            if rest[pos..].starts_with('{') {
                let group: String = rest[pos + 1..].chars().take_while(|c| *c != '}').collect();
                for item in group.split(',') {
                    let first: String = item.trim().chars().take_while(|c| ident(*c)).collect();
                    if !first.is_empty() && first != "self" {
                        let mut path = base.clone();
                        path.extend(segments.iter().cloned());
                        path.push(first);
                        found.push(path);
                    }
                }
            }
            let mut path = base;
            path.extend(segments);
            found.push(path);
        }
    }
    found
}

/// The deepest module file a path lands in.
fn resolve(path: &[String], modules: &BTreeMap<Vec<String>, PathBuf>) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| modules.contains_key(prefix))
}

/// File → the files it imports, leaving out a module's re-exports of its own children.
fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let modules = modules();
    let mut graph = BTreeMap::new();
    for (module, path) in &modules {
        let is_mod_file = path.ends_with("mod.rs");
        let mut targets = BTreeSet::new();
        for reference in references(module, is_mod_file, &code_of(path)) {
            let Some(target) = resolve(&reference, &modules) else {
                continue;
            };
            let own_child = is_mod_file && target.starts_with(module);
            if target != *module && !own_child {
                targets.insert(target);
            }
        }
        graph.insert(module.clone(), targets);
    }
    graph
}

type Graph = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;

/// Every import that does not go down a floor.
fn rule_breaks(graph: &Graph, floors: &BTreeMap<String, usize>) -> Vec<String> {
    let mut broken = Vec::new();
    for (module, targets) in graph {
        let from = &module[0];
        let Some(&from_floor) = floors.get(from) else {
            broken.push(format!(
                "src/{from} is not on any floor of the rule in lib.rs"
            ));
            continue;
        };
        for target in targets {
            let to = &target[0];
            if to == from {
                continue;
            }
            match floors.get(to) {
                Some(&to_floor) if to_floor < from_floor => {}
                _ => broken.push(format!(
                    "{} (floor {from_floor}) imports {} (floor {:?})",
                    module.join("::"),
                    target.join("::"),
                    floors.get(to)
                )),
            }
        }
    }
    broken
}

/// Every cycle a depth-first search closes, as `a -> b -> a`.
fn cycles(graph: &Graph) -> Vec<String> {
    fn visit(
        node: &Vec<String>,
        graph: &Graph,
        done: &mut BTreeSet<Vec<String>>,
        path: &mut Vec<Vec<String>>,
        cycles: &mut Vec<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = path.iter().position(|n| n == node) {
            let cycle: Vec<String> = path[at..].iter().map(|m| m.join("::")).collect();
            cycles.push(format!("{} -> {}", cycle.join(" -> "), node.join("::")));
            return;
        }
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, done, path, cycles);
        }
        path.pop();
        done.insert(node.clone());
    }
    let (mut done, mut found) = (BTreeSet::new(), Vec::new());
    for node in graph.keys() {
        visit(node, graph, &mut done, &mut Vec::new(), &mut found);
    }
    found
}

#[test]
fn no_module_imports_one_on_its_own_floor_or_above() {
    let broken = rule_breaks(&graph(), &floors());
    assert!(
        broken.is_empty(),
        "the dependency rule is broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn no_two_files_import_each_other_even_through_others() {
    let found = cycles(&graph());
    assert!(
        found.is_empty(),
        "import cycles between files:\n{}",
        found.join("\n")
    );
}

/// Each storage adapter under `src/store/` and the crates only it may use.
const ENGINES: &[(&str, &[&str])] = &[
    ("sled", &["sled"]),
    ("postgres", &["tokio_postgres", "deadpool_postgres"]),
];

/// The engine crates `code` of `module` names outside the adapter each belongs to: the
/// sled crate itself counts, this crate's `store::sled` module does not.
fn engine_crates_outside_their_adapter(module: &[String], code: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    for (adapter, crates) in ENGINES {
        let in_adapter = module.len() >= 2 && module[0] == "store" && module[1] == *adapter;
        for name in *crates {
            let pattern = format!("{name}::");
            let names_it = code.match_indices(&pattern).any(|(at, _)| {
                let before = &code[..at];
                !before.ends_with("store::")
                    && !before.ends_with("self::")
                    && !before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            });
            if names_it && !in_adapter {
                found.push(*name);
            }
        }
    }
    found
}

#[test]
fn only_the_store_names_a_storage_engine_and_no_one_reaches_around_the_registry() {
    let mut broken = Vec::new();
    for (module, path) in modules() {
        let code = code_of(&path);
        let in_store = module.first().is_some_and(|m| m == "store");
        for name in engine_crates_outside_their_adapter(&module, &code) {
            broken.push(format!("{} uses the {name} crate", path.display()));
        }
        if !in_store && code.contains(".store()") {
            broken.push(format!(
                "{} reaches the store through `.store()`",
                path.display()
            ));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// The checks find what they look for: a planted upward import and a planted cycle
/// through three files are reported, over the real graph.
#[test]
fn the_checks_see_what_they_look_for() {
    let module = |path: &str| path.split("::").map(str::to_string).collect::<Vec<_>>();
    let refs = references(
        &module("store::sled"),
        true,
        "use super::{Store, StoreError};\nuse crate::registry::Registry;",
    );
    assert!(refs.contains(&module("store::Store")));
    assert!(refs.contains(&module("registry::Registry")));
    let mut planted = graph();
    planted
        .get_mut(&module("store::sled"))
        .expect("the sled adapter is a file")
        .insert(module("registry"));
    let broken = rule_breaks(&planted, &floors());
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert!(broken[0].starts_with("store::sled (floor 1) imports registry"));
    for (from, to) in [
        ("routing::rank", "routing::wire"),
        ("routing::wire", "routing::text"),
        ("routing::text", "routing::rank"),
    ] {
        planted.get_mut(&module(from)).unwrap().insert(module(to));
    }
    let registry = module("registry");
    assert_eq!(
        engine_crates_outside_their_adapter(&registry, "use tokio_postgres::Client;"),
        ["tokio_postgres"]
    );
    assert_eq!(
        engine_crates_outside_their_adapter(&registry, "let db: sled::Db;"),
        ["sled"]
    );
    assert!(
        engine_crates_outside_their_adapter(&module("store::postgres"), "use tokio_postgres::Row;")
            .is_empty()
    );
    assert!(
        engine_crates_outside_their_adapter(&module("store"), "self::sled::SledStore").is_empty()
    );
    let found = cycles(&planted);
    assert!(
        found
            .iter()
            .any(|c| c.contains("routing::rank") && c.contains("routing::text")),
        "{found:?}"
    );
}
