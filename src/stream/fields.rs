//! Which fields of a record hold what: dotted paths into nested JSON objects, each with
//! fallbacks (`extended_tweet.full_text,full_text,text`), presets for the shapes platforms
//! ship, and the picker that reads exactly those paths out of a JSON line without building
//! a tree.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::Error;

/// One field to read: dotted paths into nested objects, tried in order.
///
/// `user.screen_name` reads key `screen_name` of the object under `user`;
/// `extended_tweet.full_text,full_text,text` reads the first of the three that a record
/// has. An empty spec reads nothing. In CSV (and other flat) input each path names a column
/// literally, dots included (`user.screen_name` as pandas' `json_normalize` writes it).
///
/// ```
/// use rumor_triage::FieldPath;
/// let text = FieldPath::from("extended_tweet.full_text,full_text,text");
/// assert_eq!(text.paths().len(), 3);
/// assert_eq!(text.paths()[0], ["extended_tweet", "full_text"]);
/// assert_eq!(text.as_str(), "extended_tweet.full_text,full_text,text");
/// assert!(FieldPath::from("").is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldPath {
    spec: String,
    paths: Vec<Vec<String>>,
}

impl FieldPath {
    /// The paths, in the order they are tried, each split at its dots.
    pub fn paths(&self) -> &[Vec<String>] {
        &self.paths
    }

    /// The spec as given.
    pub fn as_str(&self) -> &str {
        &self.spec
    }

    /// Whether it names no path (the field is not read).
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Each path with its dots, as a flat column name.
    pub(crate) fn columns(&self) -> impl Iterator<Item = String> + '_ {
        self.paths.iter().map(|p| p.join("."))
    }
}

impl From<&str> for FieldPath {
    fn from(spec: &str) -> Self {
        let paths = spec
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| p.split('.').map(str::to_owned).collect())
            .collect();
        Self {
            spec: spec.to_owned(),
            paths,
        }
    }
}

impl From<String> for FieldPath {
    fn from(spec: String) -> Self {
        FieldPath::from(spec.as_str())
    }
}

impl From<&String> for FieldPath {
    fn from(spec: &String) -> Self {
        FieldPath::from(spec.as_str())
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec)
    }
}

/// Which fields hold what, each a [`FieldPath`].
///
/// ```
/// let fields = rumor_triage::Fields::default().account("user.screen_name");
/// assert_eq!((fields.text.as_str(), fields.account.as_str()), ("text", "user.screen_name"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fields {
    /// Post id (default `id`; a post without one gets its line number).
    pub id: FieldPath,
    /// Post text (default `text`).
    pub text: FieldPath,
    /// Label, for training and evaluation (default `label`).
    pub label: FieldPath,
    /// Posting account (default `account`).
    pub account: FieldPath,
    /// Platform (default `platform`).
    pub platform: FieldPath,
    /// Posting time (default `time`; see [`crate::TimeParser`] for the forms read).
    pub time: FieldPath,
}

/// Setters, each naming the field (paths with fallbacks, see [`FieldPath`]) that holds one
/// thing.
impl Fields {
    /// The post id's field.
    pub fn id(mut self, path: impl Into<FieldPath>) -> Self {
        self.id = path.into();
        self
    }

    /// The post text's field.
    pub fn text(mut self, path: impl Into<FieldPath>) -> Self {
        self.text = path.into();
        self
    }

    /// The label's field (training and evaluation).
    pub fn label(mut self, path: impl Into<FieldPath>) -> Self {
        self.label = path.into();
        self
    }

    /// The posting account's field.
    pub fn account(mut self, path: impl Into<FieldPath>) -> Self {
        self.account = path.into();
        self
    }

    /// The platform's field.
    pub fn platform(mut self, path: impl Into<FieldPath>) -> Self {
        self.platform = path.into();
        self
    }

    /// The posting time's field.
    pub fn time(mut self, path: impl Into<FieldPath>) -> Self {
        self.time = path.into();
        self
    }

    /// The fields of a platform's record shape ([`Preset`]).
    ///
    /// ```
    /// use rumor_triage::{Fields, Preset};
    /// let v1 = Fields::preset(Preset::TwitterV1);
    /// assert_eq!(v1.text.as_str(), "extended_tweet.full_text,full_text,text");
    /// ```
    pub fn preset(preset: Preset) -> Self {
        let (id, text, account, time) = match preset {
            Preset::TwitterV1 => (
                "id_str,id",
                "extended_tweet.full_text,full_text,text",
                "user.screen_name,user.id_str",
                "created_at",
            ),
            Preset::TwitterV2 => (
                "data.id,id",
                "data.text,text",
                "data.author_id,author_id",
                "data.created_at,created_at",
            ),
            Preset::Weibo => (
                "idstr,mid,id",
                "longText.longTextContent,text",
                "user.id,user.idstr",
                "created_at",
            ),
            Preset::Reddit => ("name,id", "body,title", "author", "created_utc"),
        };
        Fields {
            id: id.into(),
            text: text.into(),
            label: "label".into(),
            account: account.into(),
            platform: "".into(),
            time: time.into(),
        }
    }
}

impl Default for Fields {
    fn default() -> Self {
        Self {
            id: "id".into(),
            text: "text".into(),
            label: "label".into(),
            account: "account".into(),
            platform: "platform".into(),
            time: "time".into(),
        }
    }
}

/// Record shapes that [`Fields::preset`] knows; `docs/cli.md` lists the paths of each.
///
/// ```
/// use rumor_triage::{Fields, Preset};
/// let weibo = Fields::preset("weibo".parse::<Preset>()?);
/// assert_eq!(weibo.account.as_str(), "user.id,user.idstr");
/// assert!("myspace".parse::<Preset>().is_err());
/// # Ok::<(), rumor_triage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Preset {
    /// Twitter API v1.1 statuses, as the REST and streaming APIs and most archives ship them.
    TwitterV1,
    /// Twitter (X) API v2 tweets, one per line, bare or under `data`.
    TwitterV2,
    /// Weibo API statuses.
    Weibo,
    /// Reddit comments and submissions as Pushshift dumps ship them.
    Reddit,
}

impl std::str::FromStr for Preset {
    type Err = Error;
    fn from_str(name: &str) -> Result<Self, Error> {
        match name {
            "twitter-v1" => Ok(Preset::TwitterV1),
            "twitter-v2" => Ok(Preset::TwitterV2),
            "weibo" => Ok(Preset::Weibo),
            "reddit" => Ok(Preset::Reddit),
            other => Err(Error::invalid_option(
                "preset",
                format!("{other:?} is not one of twitter-v1, twitter-v2, weibo, reddit"),
            )),
        }
    }
}

/// What a record has at one path: a string (borrowed from the line when it has no escapes),
/// a number in its JSON spelling, the raw JSON of a kept field, or something else.
#[derive(Debug, Clone)]
pub(crate) enum Picked<'a> {
    Text(Cow<'a, str>),
    Number(Cow<'a, str>),
    Raw(&'a str),
    Other,
}

/// The roles a picker reads, each with its slots in [`Picker::roles`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Text,
    Id,
    Account,
    Platform,
    Time,
    Label,
    Key,
}

impl Role {
    const COUNT: usize = 7;
}

/// The paths one run reads, as a tree keyed by path segment, with a numbered slot at
/// each path's end.
#[derive(Debug, Clone, Default)]
pub(crate) struct Picker {
    root: Node,
    /// For each role (by its index), its slots in fallback order.
    roles: [Vec<usize>; Role::COUNT],
    /// The slots of kept fields, one each, in the order named.
    kept: Vec<usize>,
    slots: usize,
}

/// One level of the path tree. The children are a short list searched in order: a record's
/// keys are compared with a handful of names (part of the change that cut the reader's
/// cost, benches/runs/2026-12-07/input-layer.md).
#[derive(Debug, Clone, Default)]
struct Node {
    children: Vec<(String, Node)>,
    /// Slots that take the scalar here.
    scalars: Vec<usize>,
    /// Slots that take the raw JSON here (kept fields).
    raw: Vec<usize>,
}

/// A path tree under construction.
#[derive(Default)]
struct Growing {
    children: std::collections::BTreeMap<String, Growing>,
    scalars: Vec<usize>,
    raw: Vec<usize>,
}

impl Growing {
    fn at(&mut self, segments: &[String]) -> &mut Growing {
        segments.iter().fold(self, |node, segment| {
            node.children.entry(segment.clone()).or_default()
        })
    }

    fn freeze(self) -> Node {
        Node {
            children: self
                .children
                .into_iter()
                .map(|(key, child)| (key, child.freeze()))
                .collect(),
            scalars: self.scalars,
            raw: self.raw,
        }
    }
}

impl Node {
    fn find(&self, key: &str) -> Option<&Node> {
        self.children
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, node)| node)
    }

    fn wants_inside(&self) -> bool {
        !self.children.is_empty()
    }
}

impl Picker {
    /// A picker for `roles` (each with its path) and the `kept` paths.
    pub(crate) fn new(roles: &[(Role, &FieldPath)], kept: &[FieldPath]) -> Self {
        let mut picker = Picker::default();
        let mut tree = Growing::default();
        for &(role, path) in roles {
            for segments in path.paths() {
                let slot = picker.slots;
                picker.slots += 1;
                tree.at(segments).scalars.push(slot);
                if let Some(slots) = picker.roles.get_mut(role as usize) {
                    slots.push(slot);
                }
            }
        }
        for path in kept {
            let slot = picker.slots;
            picker.slots += 1;
            // A kept field is read whole at its first path.
            if let Some(segments) = path.paths().first() {
                tree.at(segments).raw.push(slot);
            }
            picker.kept.push(slot);
        }
        picker.root = tree.freeze();
        picker
    }

    /// Reads the picked paths of one JSON object; a line that is not an object is an error
    /// whose message starts with "invalid type".
    pub(crate) fn pick<'de>(&self, line: &'de str) -> Result<Picks<'_, 'de>, serde_json::Error> {
        let mut slots = vec![Picked::Other; self.slots];
        let mut parser = serde_json::Deserializer::from_str(line);
        TopSeed {
            node: &self.root,
            slots: &mut slots,
        }
        .deserialize(&mut parser)?;
        parser.end()?;
        Ok(Picks {
            picker: self,
            slots,
        })
    }
}

/// The values one record has at a picker's paths.
#[derive(Debug)]
pub(crate) struct Picks<'p, 'de> {
    picker: &'p Picker,
    slots: Vec<Picked<'de>>,
}

impl<'de> Picks<'_, 'de> {
    fn role_slots(&self, role: Role) -> &[usize] {
        self.picker
            .roles
            .get(role as usize)
            .map_or(&[], Vec::as_slice)
    }

    /// The first non-empty string among the role's paths, else the first string.
    pub(crate) fn text(&mut self, role: Role) -> Option<Cow<'de, str>> {
        let slots = self.role_slots(role);
        let is_text = |s: &&usize| matches!(self.slots.get(**s), Some(Picked::Text(_)));
        let non_empty =
            |s: &&usize| matches!(self.slots.get(**s), Some(Picked::Text(t)) if !t.is_empty());
        let slot = *slots
            .iter()
            .find(non_empty)
            .or_else(|| slots.iter().find(is_text))?;
        self.take(slot)
    }

    /// The first non-empty string or number among the role's paths.
    pub(crate) fn value(&mut self, role: Role) -> Option<Cow<'de, str>> {
        let slot = *self
            .role_slots(role)
            .iter()
            .find(|s| match self.slots.get(**s) {
                Some(Picked::Text(t) | Picked::Number(t)) => !t.is_empty(),
                _ => false,
            })?;
        self.take(slot)
    }

    fn take(&mut self, slot: usize) -> Option<Cow<'de, str>> {
        match std::mem::replace(self.slots.get_mut(slot)?, Picked::Other) {
            Picked::Text(t) | Picked::Number(t) => Some(t),
            _ => None,
        }
    }

    /// The raw JSON of each kept field, `None` where the record lacks it.
    pub(crate) fn kept(&self) -> Vec<Option<Cow<'de, str>>> {
        self.picker
            .kept
            .iter()
            .map(|&s| match self.slots.get(s) {
                Some(Picked::Raw(raw)) => Some(Cow::Borrowed(*raw)),
                _ => None,
            })
            .collect()
    }
}

/// The top level of a line: it must be an object.
struct TopSeed<'n, 's, 'de> {
    node: &'n Node,
    slots: &'s mut [Picked<'de>],
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        visit_object(self.node, self.slots, map)
    }
}

/// Walks one object, descending into the keys the node has children or slots for and
/// skipping the rest unbuilt.
fn visit_object<'de, A: MapAccess<'de>>(
    node: &Node,
    slots: &mut [Picked<'de>],
    mut map: A,
) -> Result<(), A::Error> {
    while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
        let Some(child) = node.find(&key) else {
            map.next_value::<IgnoredAny>()?;
            continue;
        };
        if child.raw.is_empty() {
            map.next_value_seed(ValueSeed { node: child, slots })?;
            continue;
        }
        let raw = map.next_value::<&'de RawValue>()?;
        for &slot in &child.raw {
            if let Some(s) = slots.get_mut(slot) {
                *s = Picked::Raw(raw.get());
            }
        }
        if !child.scalars.is_empty() || child.wants_inside() {
            let mut inner = serde_json::Deserializer::from_str(raw.get());
            ValueSeed { node: child, slots }
                .deserialize(&mut inner)
                .map_err(de::Error::custom)?;
        }
    }
    Ok(())
}

/// An object key, borrowed from the line when it has no escapes (serde's own `Cow`
/// always copies).
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// A value at a path: a scalar for the node's slots, or an object to descend into.
struct ValueSeed<'n, 's, 'de> {
    node: &'n Node,
    slots: &'s mut [Picked<'de>],
}

impl ValueSeed<'_, '_, '_> {
    fn store<'de>(node: &Node, slots: &mut [Picked<'de>], value: Picked<'de>) {
        if let [slot] = node.scalars.as_slice() {
            if let Some(s) = slots.get_mut(*slot) {
                *s = value;
            }
            return;
        }
        for &slot in &node.scalars {
            if let Some(s) = slots.get_mut(slot) {
                *s = value.clone();
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<(), E> {
        Self::store(self.node, self.slots, Picked::Text(Cow::Borrowed(v)));
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        Self::store(
            self.node,
            self.slots,
            Picked::Text(Cow::Owned(v.to_owned())),
        );
        Ok(())
    }
    fn visit_string<E>(self, v: String) -> Result<(), E> {
        Self::store(self.node, self.slots, Picked::Text(Cow::Owned(v)));
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        Self::store(
            self.node,
            self.slots,
            Picked::Number(Cow::Owned(v.to_string())),
        );
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        Self::store(
            self.node,
            self.slots,
            Picked::Number(Cow::Owned(v.to_string())),
        );
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        if let Some(n) = serde_json::Number::from_f64(v) {
            Self::store(
                self.node,
                self.slots,
                Picked::Number(Cow::Owned(n.to_string())),
            );
        }
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        if self.node.wants_inside() {
            visit_object(self.node, self.slots, map)
        } else {
            let mut map = map;
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(())
        }
    }
}

/// Top-level keys of records that are stream notices, not posts (Twitter's v1.1 streaming
/// API; `errors` objects of the v2 stream): a record without text that has one of these is
/// skipped under its name.
pub(crate) const NOTICE_KEYS: [&str; 9] = [
    "errors",
    "delete",
    "scrub_geo",
    "limit",
    "status_withheld",
    "user_withheld",
    "disconnect",
    "warning",
    "compliance",
];

/// The top-level keys of a JSON object, for notices and for messages that say what the
/// records have.
pub(crate) fn top_keys(line: &str) -> Vec<String> {
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line)
        .map(|m| m.into_iter().map(|(k, _)| k).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picker(text: &str, account: &str, kept: &[&str]) -> Picker {
        let (text, account) = (FieldPath::from(text), FieldPath::from(account));
        let kept: Vec<FieldPath> = kept.iter().map(|k| FieldPath::from(*k)).collect();
        Picker::new(&[(Role::Text, &text), (Role::Account, &account)], &kept)
    }

    #[test]
    fn nested_paths_and_fallbacks_pick_the_first_present() {
        let p = picker(
            "extended_tweet.full_text,full_text,text",
            "user.screen_name",
            &[],
        );
        let cases = [
            (
                r#"{"text":"short","extended_tweet":{"full_text":"long"},"user":{"screen_name":"a"}}"#,
                Some("long"),
                Some("a"),
            ),
            (
                r#"{"full_text":"full","text":"t","user":{"id":3}}"#,
                Some("full"),
                None,
            ),
            (r#"{"text":"t","user":"flat"}"#, Some("t"), None),
            (
                r#"{"text":"t","extended_tweet":{"full_text":""}}"#,
                Some("t"),
                None,
            ),
            (r#"{"text":"","extended_tweet":{}}"#, Some(""), None),
            (r#"{"extended_tweet":{"full_text":7}}"#, None, None),
            (
                r#"{"user":{"screen_name":"esc\"aped"},"text":"x"}"#,
                Some("x"),
                Some("esc\"aped"),
            ),
        ];
        for (line, text, account) in cases {
            let mut picks = p.pick(line).unwrap();
            assert_eq!(picks.text(Role::Text).as_deref(), text, "{line}");
            assert_eq!(picks.value(Role::Account).as_deref(), account, "{line}");
        }
    }

    #[test]
    fn numbers_are_accepted_as_ids_and_accounts_in_their_json_spelling() {
        let p = picker("text", "user.id", &[]);
        let mut picks = p
            .pick(r#"{"text":"x","user":{"id":1234567890123}}"#)
            .unwrap();
        assert_eq!(picks.value(Role::Account).as_deref(), Some("1234567890123"));
        let mut picks = p.pick(r#"{"text":"x","user":{"id":-2.5}}"#).unwrap();
        assert_eq!(picks.value(Role::Account).as_deref(), Some("-2.5"));
        // A number is not a text.
        let mut picks = p.pick(r#"{"text":5}"#).unwrap();
        assert_eq!(picks.text(Role::Text), None);
    }

    #[test]
    fn kept_fields_are_copied_as_raw_json_and_may_overlap_read_fields() {
        let p = picker(
            "text",
            "user.screen_name",
            &["user", "entities.urls", "text", "missing"],
        );
        let line = r#"{"text":"a \"b\"","user":{"screen_name":"u","n":[1, 2]},"entities":{"urls":[{"u":"x"}]}}"#;
        let mut picks = p.pick(line).unwrap();
        let kept = picks.kept();
        assert_eq!(
            kept[0].as_deref(),
            Some(r#"{"screen_name":"u","n":[1, 2]}"#)
        );
        assert_eq!(kept[1].as_deref(), Some(r#"[{"u":"x"}]"#));
        assert_eq!(kept[2].as_deref(), Some(r#""a \"b\"""#));
        assert_eq!(kept[3], None);
        assert_eq!(picks.text(Role::Text).as_deref(), Some("a \"b\""));
        assert_eq!(picks.value(Role::Account).as_deref(), Some("u"));
    }

    #[test]
    fn a_line_that_is_not_an_object_or_not_json_is_an_error() {
        let p = picker("text", "account", &[]);
        for line in [
            "[1]",
            "\"text\"",
            "3",
            "{\"text\":",
            "{} {}",
            "{\"text\":\"a\"} x",
        ] {
            assert!(p.pick(line).is_err(), "{line}");
        }
        assert!(p
            .pick("[1]")
            .unwrap_err()
            .to_string()
            .starts_with("invalid type"));
    }

    #[test]
    fn presets_parse_and_name_their_paths() {
        for name in ["twitter-v1", "twitter-v2", "weibo", "reddit"] {
            let f = Fields::preset(name.parse().unwrap());
            assert!(
                !f.text.is_empty() && !f.account.is_empty() && !f.time.is_empty(),
                "{name}"
            );
            assert!(f.platform.is_empty(), "{name}");
        }
        assert!("twitter"
            .parse::<Preset>()
            .unwrap_err()
            .to_string()
            .contains("twitter-v1"));
    }
}
