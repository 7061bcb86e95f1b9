//! A hostile manifest, and a trust file: any text is parsed into checked types
//! or refused with a message, and reviewing what a manifest asks for (its
//! lines, digest and flags) never panics.
#![no_main]

use cordon::asks;
use cordon::limits::Limits;
use cordon::manifest::Manifest;
use cordon::trust::TrustStore;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match Manifest::parse(text, &Limits::HOST_MAX) {
        Ok(manifest) => {
            let _ = asks::lines(&manifest);
            let _ = asks::digest(&manifest);
            let _ = asks::flags(&manifest);
            for secret in &manifest.secrets {
                assert!(secret.format.contains("{value}"));
            }
        }
        Err(why) => assert!(!why.is_empty()),
    }
    if let Ok(store) = TrustStore::parse(text) {
        let _ = store.to_text();
    }
});
