//! The design documents stay true to the code.

use std::path::Path;

/// Every `b"ihsm ..."` label in the sources at `path` (a file, or a directory walked).
fn labels(path: &Path, found: &mut Vec<String>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            labels(&entry.unwrap().path(), found);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        let source = std::fs::read_to_string(path).unwrap();
        for piece in source.split("b\"ihsm ").skip(1) {
            let label = piece.split('"').next().unwrap();
            found.push(format!("ihsm {label}"));
        }
    }
}

#[test]
fn keys_document_names_every_label() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/design/keys.md")).unwrap();
    let protocol = std::fs::read_to_string(root.join("docs/design/protocol.md")).unwrap();
    let mut found = Vec::new();
    labels(&root.join("crates/ihsm-device/src"), &mut found);
    // The engine's part of the protocol: the sealed-secret labels.
    labels(
        &root.join("crates/ihsm-crypto/src/services/sealed.rs"),
        &mut found,
    );
    assert!(found.len() >= 8, "{found:?}");
    for label in found {
        assert!(
            doc.contains(&label) || protocol.contains(&label),
            "{label:?} is used in the code but named in neither keys.md nor protocol.md"
        );
    }
}
