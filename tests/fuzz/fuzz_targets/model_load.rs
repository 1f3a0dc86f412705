//! Any bytes as a model file: a clean error or a model that scores, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(model) = rumor_triage::Model::from_bytes(bytes) {
        let _ = model.score("is it true?");
    }
});
