//! A proptest strategy for text that mixes the characters the tokenizer treats specially,
//! shared by the property tests of the crate and of its integration tests.

use proptest::prelude::*;

/// Text that mixes the characters the tokenizer treats specially.
pub fn hostile_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a",
        "Z",
        "rumor",
        " ",
        "\t",
        "\n",
        "\r",
        "!",
        "！",
        "。",
        "@",
        "@x",
        "http://t.co/a",
        "https://",
        "12",
        "３",
        "谣",
        "言",
        "地震",
        "\u{200b}",
        "\u{feff}",
        "\u{0}",
        "\u{7f}",
        "\u{301}",
        "е",
        "Ο",
        "ß",
        "İ",
        "ǅ",
        "ﬁ",
        "😀",
        "\u{202e}",
        "ع",
        "𠀀",
        "\u{fffd}",
        "\u{e000}",
    ]);
    prop::collection::vec(
        prop_oneof![3 => pieces.prop_map(str::to_owned), 1 => any::<String>()],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}
