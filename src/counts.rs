//! Cleanup counts: how many posts to clean up, by label, account, platform and day.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use serde::{Deserialize, Serialize};

/// Totals for one group (a platform or a day).
///
/// ```
/// let g = rumor_triage::counts::GroupCount { total: 3, flagged: 1 };
/// assert!(g.flagged <= g.total);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCount {
    /// Posts in the group.
    pub total: u64,
    /// Flagged posts in the group.
    pub flagged: u64,
}

/// One account and its flagged posts.
///
/// ```
/// let a = rumor_triage::counts::AccountCount { account: "@a".into(), flagged: 2, total: 5 };
/// assert_eq!(serde_json::to_value(&a).unwrap()["flagged"], 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCount {
    /// The account.
    pub account: String,
    /// Its flagged posts.
    pub flagged: u64,
    /// All its posts.
    pub total: u64,
}

/// Aggregated cleanup counts of a labeled run.
///
/// ```
/// let empty = rumor_triage::counts::CountsBuilder::new(5).finish();
/// assert_eq!((empty.total, empty.flagged), (0, 0));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupCounts {
    /// Posts counted.
    pub total: u64,
    /// Posts flagged for review.
    pub flagged: u64,
    /// Posts per decided label.
    pub labels: BTreeMap<String, u64>,
    /// Flagged posts per decided label.
    pub flagged_labels: BTreeMap<String, u64>,
    /// Accounts with at least one flagged post.
    pub accounts_flagged: u64,
    /// The accounts with the most flagged posts (ties by name), most first.
    pub top_accounts: Vec<AccountCount>,
    /// Per platform (`""` when the post names none).
    pub platforms: BTreeMap<String, GroupCount>,
    /// Per day (`YYYY-MM-DD`, the first ten characters of the time field; `""` when absent).
    pub days: BTreeMap<String, GroupCount>,
}

/// Accumulates [`CleanupCounts`] one post at a time, in bounded memory per distinct key.
///
/// ```
/// use rumor_triage::counts::CountsBuilder;
/// let mut counts = CountsBuilder::new(10);
/// counts.add("rumor", true, Some("@a"), Some("twitter"), Some("2014-08-09T22:33:06Z"));
/// counts.add("non-rumor", false, Some("@a"), Some("twitter"), None);
/// let c = counts.finish();
/// assert_eq!((c.total, c.flagged, c.top_accounts[0].flagged), (2, 1, 1));
/// assert_eq!(c.days["2014-08-09"].flagged, 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct CountsBuilder {
    top: usize,
    counts: CleanupCounts,
    accounts: AccountTable,
}

/// Flagged and total posts per account, compact on purpose: on a dump with millions of
/// accounts this table is most of the scorer's memory. The names sit back to back in one
/// string and the hash table holds only indices, with no allocation per name: on the 39,039
/// accounts of a 1,000,000-post dump, peak memory fell from 47.9 to 45.4 MiB against a map
/// of boxed names. aHash, not SipHash: this is the one lookup per post on the thread that writes in
/// order, and aHash's per-process random keys still keep crafted names from colliding.
#[derive(Debug, Clone, Default)]
struct AccountTable {
    names: String,
    accounts: Vec<Account>,
    index: hashbrown::HashTable<usize>,
    hasher: ahash::RandomState,
}

#[derive(Debug, Clone, Copy)]
struct Account {
    /// Where the name ends in [`AccountTable::names`]; it starts where the one before ends.
    end: usize,
    flagged: u32,
    total: u32,
}

impl AccountTable {
    fn count(&mut self, name: &str, flagged: bool) {
        let hash = self.hasher.hash_one(name);
        let found = {
            let existing = AccountTable::name_in(&self.names, &self.accounts);
            self.index.find(hash, |&i| existing(i) == name).copied()
        };
        let i = match found {
            Some(i) => i,
            None => {
                let i = self.accounts.len();
                self.names.push_str(name);
                self.accounts.push(Account {
                    end: self.names.len(),
                    flagged: 0,
                    total: 0,
                });
                let Self {
                    names,
                    accounts,
                    index,
                    hasher,
                } = self;
                let table = AccountTable::name_in(names, accounts);
                index.insert_unique(hash, i, |&j| hasher.hash_one(table(j)));
                i
            }
        };
        if let Some(account) = self.accounts.get_mut(i) {
            account.total = account.total.saturating_add(1);
            account.flagged = account.flagged.saturating_add(u32::from(flagged));
        }
    }

    /// The name of account `i`, from the parts alone, so that the rehashing closure can
    /// read names while `index` is borrowed mutably.
    fn name_in<'t>(names: &'t str, accounts: &'t [Account]) -> impl Fn(usize) -> &'t str {
        move |i| {
            let start = i
                .checked_sub(1)
                .and_then(|before| accounts.get(before))
                .map_or(0, |a| a.end);
            let end = accounts.get(i).map_or(start, |a| a.end);
            names.get(start..end).unwrap_or_default()
        }
    }

    /// Every account with its flagged and total posts, in first-seen order.
    fn iter(&self) -> impl Iterator<Item = (&str, u32, u32)> {
        let name = AccountTable::name_in(&self.names, &self.accounts);
        self.accounts
            .iter()
            .enumerate()
            .map(move |(i, a)| (name(i), a.flagged, a.total))
    }
}

/// Applies `update` to the entry for `key`, allocating the key only the first time it is
/// seen (this runs once per post on the thread that writes the output).
fn update<T: Default>(map: &mut BTreeMap<String, T>, key: &str, update: impl FnOnce(&mut T)) {
    match map.get_mut(key) {
        Some(value) => update(value),
        None => {
            let mut value = T::default();
            update(&mut value);
            map.insert(key.to_owned(), value);
        }
    }
}

impl CountsBuilder {
    /// A builder that keeps the `top` accounts with the most flagged posts.
    ///
    /// ```
    /// let mut b = rumor_triage::counts::CountsBuilder::new(1);
    /// for account in ["x", "y", "y"] {
    ///     b.add("rumor", true, Some(account), None, None);
    /// }
    /// let c = b.finish();
    /// assert_eq!((c.top_accounts.len(), c.top_accounts[0].account.as_str(), c.accounts_flagged), (1, "y", 2));
    /// ```
    pub fn new(top: usize) -> Self {
        Self {
            top,
            ..Self::default()
        }
    }

    /// Counts one labeled post: its decided label, whether it is flagged, and its
    /// account, platform and time when known.
    ///
    /// ```
    /// let mut b = rumor_triage::counts::CountsBuilder::new(10);
    /// b.add("non-rumor", false, None, Some("weibo"), Some("2014-01-02T03:04:05Z"));
    /// assert_eq!(b.finish().platforms["weibo"].total, 1);
    /// ```
    pub fn add(
        &mut self,
        label: &str,
        flagged: bool,
        account: Option<&str>,
        platform: Option<&str>,
        time: Option<&str>,
    ) {
        let c = &mut self.counts;
        c.total += 1;
        update(&mut c.labels, label, |n| *n += 1);
        if flagged {
            c.flagged += 1;
            update(&mut c.flagged_labels, label, |n| *n += 1);
        }
        let bump = |g: &mut GroupCount| {
            g.total += 1;
            g.flagged += u64::from(flagged);
        };
        update(&mut c.platforms, platform.unwrap_or(""), bump);
        let day = time.map_or("", |t| {
            t.char_indices()
                .nth(10)
                .and_then(|(end, _)| t.get(..end))
                .unwrap_or(t)
        });
        update(&mut c.days, day, bump);
        if let Some(account) = account {
            self.accounts.count(account, flagged);
        }
    }

    /// The finished counts, with the top accounts sorted by flagged posts (ties by name).
    ///
    /// ```
    /// let c = rumor_triage::counts::CountsBuilder::new(3).finish();
    /// assert!(c.top_accounts.is_empty());
    ///
    /// let mut b = rumor_triage::counts::CountsBuilder::new(2);
    /// for account in ["b", "a", "c", "c"] {
    ///     b.add("rumor", true, Some(account), None, None);
    /// }
    /// b.add("non-rumor", false, Some("d"), None, None);
    /// let c = b.finish();
    /// let top: Vec<(&str, u64)> = c.top_accounts.iter().map(|a| (a.account.as_str(), a.flagged)).collect();
    /// assert_eq!(top, [("c", 2), ("a", 1)]); // a tie goes to the first name
    /// assert_eq!(c.accounts_flagged, 3);
    /// ```
    pub fn finish(mut self) -> CleanupCounts {
        // Keep the `top` best in a heap whose root is the worst kept: flagged posts
        // descending, then name ascending, is the order of (Reverse(flagged), name).
        let mut kept: BinaryHeap<(Reverse<u32>, &str, u32)> = BinaryHeap::new();
        let mut flagged_accounts = 0u64;
        for (account, flagged, total) in self.accounts.iter() {
            if flagged == 0 {
                continue;
            }
            flagged_accounts += 1;
            kept.push((Reverse(flagged), account, total));
            if kept.len() > self.top {
                kept.pop();
            }
        }
        self.counts.accounts_flagged = flagged_accounts;
        self.counts.top_accounts = kept
            .into_sorted_vec()
            .into_iter()
            .map(|(Reverse(flagged), account, total)| AccountCount {
                account: account.to_owned(),
                flagged: u64::from(flagged),
                total: u64::from(total),
            })
            .collect();
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_account_table_counts_as_a_map_of_names_does(
            posts in proptest::collection::vec(("[a-c]{0,3}|名{1,2}", any::<bool>()), 0..200),
        ) {
            let mut table = AccountTable::default();
            let mut reference: BTreeMap<String, (u32, u32)> = BTreeMap::new();
            for (name, flagged) in &posts {
                table.count(name, *flagged);
                let entry = reference.entry(name.clone()).or_default();
                entry.0 += u32::from(*flagged);
                entry.1 += 1;
            }
            let counted: BTreeMap<String, (u32, u32)> = table
                .iter()
                .map(|(name, flagged, total)| (name.to_owned(), (flagged, total)))
                .collect();
            prop_assert_eq!(table.accounts.len(), reference.len());
            prop_assert_eq!(counted, reference);
        }
    }
}
