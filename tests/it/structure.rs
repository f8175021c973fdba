//! The code's shape: no two modules of a crate import each other, directly or around a circle
//! (ARCHITECTURE.md: dependencies point one way). Read from the sources, so a new circle fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module of `crates/<name>/src` and the modules of the same crate it names
/// (`crate::x`), tests left out.
fn module_imports(crate_dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let src = crate_dir.join("src");
    let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![src.clone()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path.strip_prefix(&src).unwrap();
        let module = rel
            .iter()
            .next()
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches(".rs");
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let named = imports.entry(module.to_owned()).or_default();
        for part in code.split("crate::").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() && name != module {
                named.insert(name);
            }
        }
    }
    imports
}

/// A circle of imports, if any.
fn circle(imports: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn walk(
        m: &str,
        imports: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut c = path[at..].to_vec();
            c.push(m.to_owned());
            return Some(c);
        }
        if !done.insert(m.to_owned()) {
            return None;
        }
        path.push(m.to_owned());
        for next in imports.get(m).into_iter().flatten() {
            if let Some(c) = walk(next, imports, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    imports
        .keys()
        .find_map(|m| walk(m, imports, &mut Vec::new(), &mut done))
}

#[test]
fn no_two_modules_import_each_other() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    for name in [
        "domain",
        "matching",
        "store",
        "adapter-core",
        "registry",
        "sync",
        "batches",
        "gateway",
        "cli",
        "simulators",
    ] {
        let imports = module_imports(&crates.join(name));
        assert!(!imports.is_empty(), "{name}: no modules read");
        if let Some(c) = circle(&imports) {
            panic!("{name}: modules import each other: {}", c.join(" -> "));
        }
    }
    // The check finds a circle when there is one.
    let mut made_up: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    made_up.insert("audit".into(), ["auth".into()].into());
    made_up.insert("auth".into(), ["state".into()].into());
    made_up.insert("state".into(), ["audit".into()].into());
    assert_eq!(circle(&made_up).unwrap().len(), 4);
}
