//! Near-duplicate campaigns: flagged posts that share most of their n-grams, grouped as
//! they stream past, so that a reviewer sees one campaign of 300 copies instead of 300 posts.
//!
//! Each post's set of n-gram buckets (the very features the model scores) is sketched by
//! one-permutation MinHash (Li, Owen and Zhang, "One Permutation Hashing", NIPS 2012): a
//! bucket is already a hash of its n-gram, so its low bits pick one of `SIGNATURE_BINS`
//! bins, and each bin keeps the smallest of the rest. The share of bins two signatures
//! agree on, among the bins either one fills, estimates the Jaccard similarity of the two
//! sets. Candidates are found by locality-sensitive hashing over bands of four bins (eight
//! bands), then checked against the campaign's first post: a post joins the oldest campaign
//! at or above [`CampaignOptions::min_similarity`] (so copies of one text always share one),
//! else it starts one.
//!
//! Memory stays bounded on any dump: at most [`CampaignOptions::max_campaigns`] campaigns
//! are live, and when a new one would pass that, the oldest campaign still holding one post
//! is forgotten; when every live campaign holds two or more, a post that matches none is
//! left ungrouped ([`crate::CleanupCounts::ungrouped_posts`]). Everything runs in input order
//! on one thread, so the campaigns are the same with any number of scoring threads.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::features::sketch::BANDS;
use crate::features::Signature;

/// Account hashes kept per campaign to count its distinct accounts.
const ACCOUNT_SKETCH: usize = 64;

/// The band keys of the first posts' sketches, each with where its sketch is: a multimap
/// in one open-addressing table (linear probing, at most half full), so that a post's
/// eight slots can be prefetched before any is read. A key is already a mixed hash, so its
/// low bits pick the slot.
#[derive(Debug, Clone, Default)]
struct BandTable {
    /// (key, first) or [`NO_FIRST`] in `first` for an empty slot; the length a power of two.
    slots: Vec<(u64, u32)>,
    len: usize,
}

const NO_FIRST: u32 = u32::MAX;

impl BandTable {
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    fn home(&self, key: u64) -> usize {
        key as usize & self.mask()
    }

    fn prefetch(&self, key: u64) {
        if let Some(slot) = self.slots.get(self.home(key)) {
            crate::util::prefetch(slot);
        }
    }

    /// Calls `found` with every entry stored under `key`.
    fn for_each(&self, key: u64, mut found: impl FnMut(u32)) {
        let mut at = self.home(key);
        while let Some(&(k, first)) = self.slots.get(at) {
            if first == NO_FIRST {
                return;
            }
            if k == key {
                found(first);
            }
            at = (at + 1) & self.mask();
        }
    }

    fn insert(&mut self, key: u64, first: u32) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mut at = self.home(key);
        while let Some(slot) = self.slots.get_mut(at) {
            if slot.1 == NO_FIRST {
                *slot = (key, first);
                self.len += 1;
                return;
            }
            if *slot == (key, first) {
                return;
            }
            at = (at + 1) & self.mask();
        }
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(64);
        let old = std::mem::replace(&mut self.slots, vec![(0, NO_FIRST); size]);
        self.len = 0;
        for (key, first) in old.into_iter().filter(|&(_, f)| f != NO_FIRST) {
            self.insert(key, first);
        }
    }

    /// Removes entry (`key`, `first`), then moves later entries of the probe run back into
    /// the gap so that every lookup still finds them (deletion without tombstones).
    fn remove(&mut self, key: u64, first: u32) {
        let mask = self.mask();
        let mut at = self.home(key);
        loop {
            match self.slots.get(at) {
                Some(&entry) if entry == (key, first) => break,
                Some(&(_, f)) if f != NO_FIRST => at = (at + 1) & mask,
                _ => return,
            }
        }
        let mut gap = at;
        let mut next = (gap + 1) & mask;
        while let Some(&(k, f)) = self.slots.get(next) {
            if f == NO_FIRST {
                break;
            }
            // The entry may move back to the gap unless its home lies after the gap,
            // within the stretch from the gap to it (cyclically).
            let home = self.home(k);
            if (next.wrapping_sub(home) & mask) >= (next.wrapping_sub(gap) & mask) {
                if let Some(slot) = self.slots.get_mut(gap) {
                    *slot = (k, f);
                }
                gap = next;
            }
            next = (next + 1) & mask;
        }
        if let Some(slot) = self.slots.get_mut(gap) {
            *slot = (0, NO_FIRST);
        }
        self.len -= 1;
    }
}

/// How posts are grouped into campaigns.
///
/// ```
/// let o = rumor_triage::CampaignOptions::default();
/// assert_eq!((o.min_similarity, o.max_campaigns), (0.7, 5_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CampaignOptions {
    /// Estimated Jaccard similarity of n-gram sets at which a post joins a campaign;
    /// default 0.7 (a retweet with a comment added, a copy with a word changed).
    pub min_similarity: f32,
    /// Live campaigns at most; default 5,000 (about 5 MiB of sketches, band keys and
    /// tallies: peak memory stayed within 10% from a 100,000-post dump to 1,000,000).
    pub max_campaigns: usize,
}

impl Default for CampaignOptions {
    fn default() -> Self {
        Self {
            min_similarity: 0.7,
            max_campaigns: 5_000,
        }
    }
}

/// One campaign in [`crate::CleanupCounts::top_campaigns`].
///
/// ```
/// let c = rumor_triage::CampaignCount { campaign: 7, first_id: "p7".into(), posts: 3, accounts: 2, accounts_estimated: false, first_day: "2014-08-09".into(), last_day: "2014-08-10".into() };
/// assert_eq!(serde_json::to_value(&c).unwrap()["posts"], 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignCount {
    /// The campaign's id: the input line of its first post.
    pub campaign: u64,
    /// The id of its first post.
    pub first_id: String,
    /// Its flagged posts.
    pub posts: u64,
    /// Distinct accounts among them (posts without an account count as none): exact up to
    /// 63, beyond that estimated from the 64 smallest account hashes (k minimum values,
    /// relative error about 1/8), so that a campaign's memory stays fixed.
    pub accounts: u64,
    /// Whether `accounts` is the estimate.
    pub accounts_estimated: bool,
    /// The earliest and latest day among its posts (`YYYY-MM-DD`; `""` when none has a time).
    pub first_day: String,
    /// See `first_day`.
    pub last_day: String,
}

/// Distinct values from the `ACCOUNT_SKETCH` smallest of their uniform 32-bit hashes.
fn distinct_accounts(smallest: &[u32]) -> u64 {
    match smallest.last() {
        Some(&largest) if smallest.len() >= ACCOUNT_SKETCH => {
            ((ACCOUNT_SKETCH as f64 - 1.0) * 4_294_967_296.0 / (f64::from(largest) + 1.0)).round()
                as u64
        }
        _ => smallest.len() as u64,
    }
}

#[derive(Debug, Clone)]
struct Campaign {
    /// Where the first post's sketch is in [`Campaigns::firsts`]; `None` when rebuilt from
    /// scored output, which has no text.
    first: Option<u32>,
    first_id: String,
    posts: u64,
    /// The smallest hashes of its distinct accounts, ascending, at most [`ACCOUNT_SKETCH`]:
    /// the exact count below that, an estimate ("k minimum values") above.
    accounts: Vec<u32>,
    first_day: String,
    last_day: String,
}

/// The campaigns of a run so far: the grouping ([`Campaigns::campaign_of`]) and the tallies
/// ([`Campaigns::add`]), which [`crate::counts::CountsBuilder`] drives.
#[derive(Debug, Clone, Default)]
pub(crate) struct Campaigns {
    options: CampaignOptions,
    /// Boxed, so the table's spare capacity holds pointers, not whole campaigns.
    campaigns: rustc_hash::FxHashMap<u64, Box<Campaign>>,
    /// The first posts' sketches with their campaigns, side by side, so that comparing a
    /// post with a candidate reads one record; freed records are reused.
    firsts: Vec<(u64, Signature)>,
    free_firsts: Vec<u32>,
    /// The band keys of every sketch in `firsts`, pointing at it.
    bands: BandTable,
    /// Campaigns in the order they began; the front ones that grew past one post are
    /// dropped as the front is searched for one to forget.
    young: VecDeque<u64>,
    /// Live campaigns holding one post.
    lone: usize,
}

impl Campaigns {
    pub(crate) fn new(options: CampaignOptions) -> Self {
        Self {
            options,
            ..Self::default()
        }
    }

    /// Forgets the oldest one-post campaign while more than the maximum are live. Both paths
    /// that tally run it after each post, so campaigns rebuilt from scored output are
    /// forgotten at the same posts as in the scoring run.
    fn forget_if_full(&mut self) {
        while self.campaigns.len() > self.options.max_campaigns && self.lone > 0 {
            let Some(id) = self.young.pop_front() else {
                break;
            };
            if self.campaigns.get(&id).is_none_or(|c| c.posts != 1) {
                continue;
            }
            self.lone -= 1;
            if let Some(first) = self.campaigns.remove(&id).and_then(|c| c.first) {
                self.drop_first(first);
            }
        }
    }

    /// The campaign of the flagged post on input line `line` with this sketch: the oldest
    /// live campaign whose first post is at or above the threshold, else a new one
    /// whose id is `line`, or `None` when the campaigns are full and none can be forgotten.
    pub(crate) fn campaign_of(&mut self, line: u64, signature: &Signature) -> Option<u64> {
        let mut keys = [0u64; BANDS];
        let mut n = 0;
        for (slot, key) in keys.iter_mut().zip(signature.band_keys()) {
            *slot = key;
            n += 1;
        }
        let keys = keys.get(..n).unwrap_or_default();
        // Ask for every band's slot before reading any: their cache misses overlap.
        keys.iter().for_each(|&key| self.bands.prefetch(key));
        let mut best: Option<u64> = None;
        for &key in keys {
            self.bands.for_each(key, |first| {
                let Some((id, sketch)) = self.firsts.get(first as usize) else {
                    return;
                };
                // The oldest match, not the closest: copies of one text then always share a
                // campaign, even when a closer campaign begins between them.
                if best.is_none_or(|b| *id < b)
                    && signature.similarity(sketch) >= self.options.min_similarity
                {
                    best = Some(*id);
                }
            });
        }
        if let Some(id) = best {
            return Some(id);
        }
        if self.campaigns.len() >= self.options.max_campaigns && self.lone == 0 {
            return None;
        }
        self.start(line, Some(*signature));
        Some(line)
    }

    /// Records the sketch of a campaign's first post, when a resumed run scores it again.
    pub(crate) fn restore_signature(&mut self, id: u64, signature: &Signature) {
        if self.campaigns.get(&id).is_some_and(|c| c.first.is_none()) {
            let first = self.keep_first(id, signature);
            if let Some(c) = self.campaigns.get_mut(&id) {
                c.first = Some(first);
            }
        }
    }

    /// The live campaigns whose first post's sketch is not known (rebuilt from output).
    pub(crate) fn unsketched(&self) -> impl Iterator<Item = u64> + '_ {
        self.campaigns
            .iter()
            .filter(|(_, c)| c.first.is_none())
            .map(|(&id, _)| id)
    }

    /// Stores campaign `id`'s first sketch and its band keys; returns where it is.
    fn keep_first(&mut self, id: u64, signature: &Signature) -> u32 {
        let first = match self.free_firsts.pop() {
            Some(free) => {
                if let Some(slot) = self.firsts.get_mut(free as usize) {
                    *slot = (id, *signature);
                }
                free
            }
            None => {
                self.firsts.push((id, *signature));
                (self.firsts.len() - 1) as u32
            }
        };
        for key in signature.band_keys() {
            self.bands.insert(key, first);
        }
        first
    }

    fn drop_first(&mut self, first: u32) {
        if let Some((_, signature)) = self.firsts.get(first as usize) {
            for key in signature.band_keys() {
                self.bands.remove(key, first);
            }
            self.free_firsts.push(first);
        }
    }

    fn start(&mut self, id: u64, signature: Option<Signature>) {
        let first = signature.map(|s| self.keep_first(id, &s));
        self.campaigns.insert(
            id,
            Box::new(Campaign {
                first,
                first_id: String::new(),
                posts: 0,
                accounts: Vec::new(),
                first_day: String::new(),
                last_day: String::new(),
            }),
        );
    }

    /// Tallies one flagged post of campaign `id` (from [`Campaigns::campaign_of`], or read
    /// back from scored output).
    pub(crate) fn add(&mut self, id: u64, post_id: &str, account: Option<u32>, day: &str) {
        if !self.campaigns.contains_key(&id) {
            self.start(id, None);
        }
        let Some(c) = self.campaigns.get_mut(&id) else {
            return;
        };
        match c.posts {
            0 => {
                c.first_id = post_id.to_owned();
                c.first_day = day.to_owned();
                c.last_day = day.to_owned();
                self.young.push_back(id);
                self.lone += 1;
            }
            1 => self.lone -= 1,
            _ => {}
        }
        if c.posts > 0 && !day.is_empty() {
            if c.first_day.is_empty() || day < c.first_day.as_str() {
                c.first_day = day.to_owned();
            }
            if day > c.last_day.as_str() {
                c.last_day = day.to_owned();
            }
        }
        c.posts += 1;
        if let Some(account) = account {
            let hash = (crate::util::mix(u64::from(account)) >> 32) as u32;
            if let Err(at) = c.accounts.binary_search(&hash) {
                if at < ACCOUNT_SKETCH {
                    // Drop the largest first, so the vector never grows past the sketch.
                    if c.accounts.len() == ACCOUNT_SKETCH {
                        c.accounts.pop();
                    }
                    c.accounts.insert(at, hash);
                }
            }
        }
        self.forget_if_full();
    }

    /// Campaigns of two or more posts, the posts in them, and the `top` largest (ties to
    /// the oldest).
    pub(crate) fn finish(&self, top: usize) -> (u64, u64, Vec<CampaignCount>) {
        let mut many: Vec<(&u64, &Campaign)> = self
            .campaigns
            .iter()
            .filter(|(_, c)| c.posts >= 2)
            .map(|(id, c)| (id, &**c))
            .collect();
        let posts = many.iter().map(|(_, c)| c.posts).sum();
        let count = many.len() as u64;
        many.sort_by(|(a, ca), (b, cb)| cb.posts.cmp(&ca.posts).then(a.cmp(b)));
        let top = many
            .into_iter()
            .take(top)
            .map(|(&campaign, c)| CampaignCount {
                campaign,
                first_id: c.first_id.clone(),
                posts: c.posts,
                accounts: distinct_accounts(&c.accounts),
                accounts_estimated: c.accounts.len() >= ACCOUNT_SKETCH,
                first_day: c.first_day.clone(),
                last_day: c.last_day.clone(),
            })
            .collect();
        (count, posts, top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sketch of made-up n-grams `ids`, hashed into 2^20 buckets as n-grams are.
    fn sketch(ids: impl IntoIterator<Item = u32>) -> Signature {
        let mut s = Signature::default();
        ids.into_iter()
            .for_each(|i| s.add((crate::util::mix(u64::from(i)) >> 44) as u32));
        s
    }

    #[test]
    fn the_band_table_finds_what_a_plain_multimap_holds() {
        // Keys with few distinct low bits make long probe runs that wrap around the table,
        // which is where removal must move entries back.
        let mut table = BandTable::default();
        let mut plain: Vec<(u64, u32)> = Vec::new();
        let mut state = 7u64;
        let mut next = || {
            state = crate::util::mix(state);
            state
        };
        for step in 0..20_000u32 {
            let key = (next() % 6) << 40 | (next() % 5) | 60;
            let roll = next() % 3;
            if roll < 2 || plain.is_empty() {
                let first = (next() % 50) as u32;
                table.insert(key, first);
                if !plain.contains(&(key, first)) {
                    plain.push((key, first));
                }
            } else {
                let (key, first) = plain.swap_remove((next() as usize) % plain.len());
                table.remove(key, first);
            }
            assert_eq!(table.len, plain.len());
            if step % 97 == 0 {
                for probe in plain.iter().map(|&(k, _)| k).chain([1, 61]) {
                    let mut found = Vec::new();
                    table.for_each(probe, |f| found.push(f));
                    found.sort_unstable();
                    let mut expected: Vec<u32> = plain
                        .iter()
                        .filter(|&&(k, _)| k == probe)
                        .map(|&(_, f)| f)
                        .collect();
                    expected.sort_unstable();
                    assert_eq!(found, expected, "key {probe:#x} at step {step}");
                }
            }
        }
    }

    #[test]
    fn the_account_count_is_exact_below_the_sketch_and_close_above() {
        let mut c = Campaigns::new(CampaignOptions::default());
        for account in 0..50u32 {
            c.add(9, "p", Some(account), "");
            c.add(9, "p", Some(account), "");
        }
        assert_eq!(c.finish(1).2[0].accounts, 50);
        for account in 50..5000u32 {
            c.add(9, "p", Some(account), "");
        }
        let top = &c.finish(1).2[0];
        assert!(top.accounts_estimated);
        assert!((4000..6000).contains(&top.accounts), "{}", top.accounts);
    }

    #[test]
    fn the_estimate_follows_the_jaccard_similarity() {
        // Sets of 300 buckets overlapping in 300 - d: Jaccard (300 - d) / (300 + d).
        for d in [0u32, 30, 100, 200] {
            let a = sketch(0..300);
            let b = sketch(d..300 + d);
            let jaccard = (300 - d) as f32 / (300 + d) as f32;
            let estimate = a.similarity(&b);
            assert!(
                (estimate - jaccard).abs() < 0.2,
                "d = {d}: estimate {estimate}, Jaccard {jaccard}"
            );
        }
    }

    #[test]
    fn near_copies_join_the_first_and_others_start_their_own() {
        let mut c = Campaigns::new(CampaignOptions::default());
        let first = sketch(0..200);
        assert_eq!(c.campaign_of(1, &first), Some(1));
        c.add(1, "a", Some(0), "2014-01-02");
        let copy = sketch(3..203);
        assert_eq!(c.campaign_of(2, &copy), Some(1));
        c.add(1, "b", Some(1), "2014-01-01");
        let other = sketch(5000..5200);
        assert_eq!(c.campaign_of(3, &other), Some(3));
        c.add(3, "c", Some(1), "");
        let (count, posts, top) = c.finish(10);
        assert_eq!((count, posts), (1, 2));
        assert_eq!(
            (
                top[0].accounts,
                top[0].first_day.as_str(),
                top[0].last_day.as_str()
            ),
            (2, "2014-01-01", "2014-01-02")
        );
    }

    #[test]
    fn the_oldest_lone_post_is_forgotten_when_the_campaigns_are_full() {
        let options = CampaignOptions {
            max_campaigns: 2,
            ..CampaignOptions::default()
        };
        let mut c = Campaigns::new(options);
        let lone = sketch(0..100);
        let first = sketch(5000..5100);
        for (line, s) in [(1, &lone), (2, &first), (3, &first)] {
            let id = c.campaign_of(line, s).unwrap();
            c.add(id, "x", None, "");
        }
        // A third campaign forgets the lone one.
        let other = sketch(9000..9100);
        let id = c.campaign_of(4, &other).unwrap();
        c.add(id, "y", None, "");
        assert_eq!(c.campaigns.len(), 2);
        assert!(!c.campaigns.contains_key(&1));
        // Once both live campaigns hold two posts, a new text stays ungrouped.
        assert_eq!(c.campaign_of(5, &other), Some(4));
        c.add(4, "z", None, "");
        assert_eq!(c.campaign_of(6, &lone), None);
        assert_eq!(c.campaign_of(7, &first), Some(2));
    }
}
