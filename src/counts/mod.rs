//! Cleanup counts: how many posts to clean up, by label, account, platform and day, and in
//! which near-duplicate campaigns ([`crate::campaigns`]).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use serde::{Deserialize, Serialize};

pub(crate) mod campaigns;
mod prevalence;

use crate::features::Signature;
use crate::time::TimeParser;
use crate::Model;
use campaigns::Campaigns;
pub use campaigns::{CampaignCount, CampaignOptions};
pub use prevalence::{HeldOutRates, Prevalence, ProbabilityHistogram};

/// Totals for one group (a platform or a day).
///
/// ```
/// let g = rumor_triage::GroupCount { total: 3, flagged: 1 };
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
/// let a = rumor_triage::AccountCount { account: "@a".into(), flagged: 2, total: 5 };
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
/// let empty = rumor_triage::CountsBuilder::new(5).finish();
/// assert_eq!((empty.total, empty.flagged), (0, 0));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CleanupCounts {
    /// Posts counted.
    pub total: u64,
    /// Posts flagged for review.
    pub flagged: u64,
    /// Posts with too little text to flag (`insufficient_text`; counted in `total`).
    #[serde(default)]
    pub insufficient_text: u64,
    /// How many posts are rumors, estimated from the probabilities (not the flagged
    /// count, which is biased when the dump's rumor share is not the training data's).
    /// None without the model's training share ([`CountsBuilder::prevalence_of`]).
    #[serde(default)]
    pub prevalence: Option<Prevalence>,
    /// Posts per decided label.
    pub labels: BTreeMap<String, u64>,
    /// Flagged posts per decided label.
    pub flagged_labels: BTreeMap<String, u64>,
    /// Accounts with at least one flagged post.
    pub accounts_flagged: u64,
    /// The accounts with the most flagged posts (ties by name), most first.
    pub top_accounts: Vec<AccountCount>,
    /// Per platform, for posts that name one.
    pub platforms: BTreeMap<String, GroupCount>,
    /// Posts that name no platform.
    #[serde(default)]
    pub no_platform: GroupCount,
    /// Per day (`YYYY-MM-DD` in [`CleanupCounts::time_zone`]), for posts whose time parsed.
    pub days: BTreeMap<String, GroupCount>,
    /// The zone days are counted in (`UTC` unless a zone was chosen).
    #[serde(default)]
    pub time_zone: String,
    /// Posts without a time.
    #[serde(default)]
    pub no_time: GroupCount,
    /// Posts whose time could not be parsed ([`crate::TimeParser`]): counted here and
    /// under no day.
    #[serde(default)]
    pub time_unparsed: GroupCount,
    /// The first time that could not be parsed, as given.
    #[serde(default)]
    pub time_unparsed_example: Option<String>,
    /// Near-duplicate campaigns of two or more flagged posts (`counts::campaigns`).
    #[serde(default)]
    pub campaigns: u64,
    /// Flagged posts in those campaigns.
    #[serde(default)]
    pub campaign_posts: u64,
    /// The largest campaigns, most posts first (ties to the oldest), as many as the top
    /// accounts.
    #[serde(default)]
    pub top_campaigns: Vec<CampaignCount>,
    /// Flagged posts in no campaign: the live campaigns were at their maximum, all with
    /// two or more posts ([`CampaignOptions::max_campaigns`]).
    #[serde(default)]
    pub ungrouped_posts: u64,
}

/// Accumulates [`CleanupCounts`] one post at a time, in bounded memory per distinct key.
///
/// ```
/// use rumor_triage::CountsBuilder;
/// let mut counts = CountsBuilder::new(10);
/// counts.add("rumor", true, Some("@a"), Some("twitter"), Some("2014-08-09T22:33:06Z"));
/// counts.add("non-rumor", false, Some("@a"), Some("twitter"), None);
/// let c = counts.finish();
/// assert_eq!((c.total, c.flagged, c.top_accounts[0].flagged), (2, 1, 1));
/// assert_eq!((c.days["2014-08-09"].flagged, c.no_time.total), (1, 1));
/// ```
#[derive(Debug, Clone, Default)]
pub struct CountsBuilder {
    top: usize,
    times: TimeParser,
    counts: CleanupCounts,
    accounts: AccountTable,
    campaigns: Campaigns,
    /// Flagged posts tallied in a campaign.
    grouped: u64,
    /// The flag probabilities seen, for the prevalence estimate.
    histogram: ProbabilityHistogram,
    /// The model's training share of the flagged labels and held-out `(tpr, fpr)`.
    prior: Option<(f64, Option<HeldOutRates>)>,
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
    /// The index of account `name`, if it has been counted.
    fn index_of(&self, name: &str) -> Option<usize> {
        self.find(self.hasher.hash_one(name), name)
    }

    fn find(&self, hash: u64, name: &str) -> Option<usize> {
        let existing = AccountTable::name_in(&self.names, &self.accounts);
        self.index.find(hash, |&i| existing(i) == name).copied()
    }

    fn count(&mut self, name: &str, flagged: bool) {
        let hash = self.hasher.hash_one(name);
        let i = match self.find(hash, name) {
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

/// A post's day as the counts see it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PostDay<'a> {
    /// The post has no time.
    Missing,
    /// Its day, `YYYY-MM-DD`.
    Day(&'a str),
    /// Its time as given, which did not parse.
    Unparsed(&'a str),
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
    /// let mut b = rumor_triage::CountsBuilder::new(1);
    /// for account in ["x", "y", "y"] {
    ///     b.add("rumor", true, Some(account), None, None);
    /// }
    /// let c = b.finish();
    /// assert_eq!((c.top_accounts.len(), c.top_accounts[0].account.as_str(), c.accounts_flagged), (1, "y", 2));
    /// ```
    pub fn new(top: usize) -> Self {
        Self::with_campaigns(top, CampaignOptions::default())
    }

    /// [`CountsBuilder::new`] grouping campaigns with `options`.
    ///
    /// ```
    /// use rumor_triage::{CampaignOptions, CountsBuilder};
    /// let strict = CountsBuilder::with_campaigns(10, CampaignOptions { min_similarity: 0.9, ..Default::default() });
    /// assert_eq!(strict.finish().campaigns, 0);
    /// ```
    pub fn with_campaigns(top: usize, options: CampaignOptions) -> Self {
        let times = TimeParser::default();
        Self {
            top,
            counts: CleanupCounts {
                time_zone: times.zone_name().to_owned(),
                ..CleanupCounts::default()
            },
            times,
            accounts: AccountTable::default(),
            campaigns: Campaigns::new(options),
            grouped: 0,
            histogram: ProbabilityHistogram::default(),
            prior: None,
        }
    }

    /// Estimate the prevalence ([`CleanupCounts::prevalence`]) with `model`'s training
    /// share of the flagged labels and its held-out rates: the model that gave the
    /// probabilities passed to [`CountsBuilder::add_probability`].
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let mut b = rumor_triage::CountsBuilder::new(5).prevalence_of(&model);
    /// for text in ["Unconfirmed: gunman still inside the mall?", "Lunch with the team was great"] {
    ///     let s = model.score(text).unwrap();
    ///     b.add(&s.label, s.flagged, None, None, None);
    ///     b.add_probability(s.probability, s.flagged, s.insufficient_text);
    /// }
    /// let share = b.finish().prevalence.unwrap().share;
    /// assert!((0.0..=1.0).contains(&share));
    /// ```
    pub fn prevalence_of(mut self, model: &Model) -> Self {
        self.prior = Some((model.training_share(), HeldOutRates::of(model)));
        self
    }

    /// Counts one post's flag probability for the prevalence estimate, whether it was
    /// flagged, and whether it had too little text to flag.
    pub fn add_probability(&mut self, probability: f32, flagged: bool, insufficient_text: bool) {
        self.histogram.add_post(probability, flagged);
        self.counts.insufficient_text += u64::from(insufficient_text);
    }

    /// Parse times with `parser` (its zone decides the days; default UTC and every form
    /// [`TimeParser`] reads).
    ///
    /// ```
    /// use rumor_triage::{CountsBuilder, TimeParser};
    /// let mut b = CountsBuilder::new(5).time_parser(TimeParser::default().zone("Asia/Shanghai")?);
    /// b.add("rumor", true, None, None, Some("Tue May 31 17:46:55 +0000 2011"));
    /// assert!(b.finish().days.contains_key("2011-06-01"));
    /// # Ok::<(), rumor_triage::Error>(())
    /// ```
    pub fn time_parser(mut self, parser: TimeParser) -> Self {
        parser.zone_name().clone_into(&mut self.counts.time_zone);
        self.times = parser;
        self
    }

    /// Counts one labeled post: its decided label, whether it is flagged, and its
    /// account, platform and time (as given; parsed here) when known.
    ///
    /// ```
    /// let mut b = rumor_triage::CountsBuilder::new(10);
    /// b.add("non-rumor", false, None, Some("weibo"), Some("2014-01-02T03:04:05Z"));
    /// b.add("rumor", true, None, None, Some("Wed Oct 10"));
    /// let c = b.finish();
    /// assert_eq!((c.platforms["weibo"].total, c.no_platform.total), (1, 1));
    /// assert_eq!((c.days.len(), c.time_unparsed.flagged), (1, 1));
    /// assert_eq!(c.time_unparsed_example.as_deref(), Some("Wed Oct 10"));
    /// ```
    pub fn add(
        &mut self,
        label: &str,
        flagged: bool,
        account: Option<&str>,
        platform: Option<&str>,
        time: Option<&str>,
    ) {
        let day = time.map(|t| (t, self.times.parse(t).map(|p| p.day())));
        let day = match &day {
            None => PostDay::Missing,
            Some((_, Some(day))) => PostDay::Day(day),
            Some((given, None)) => PostDay::Unparsed(given),
        };
        self.add_post(label, flagged, account, platform, day);
    }

    /// [`CountsBuilder::add`] with the day already worked out (by the scoring threads).
    pub(crate) fn add_post(
        &mut self,
        label: &str,
        flagged: bool,
        account: Option<&str>,
        platform: Option<&str>,
        day: PostDay<'_>,
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
        match platform {
            Some(platform) => update(&mut c.platforms, platform, bump),
            None => bump(&mut c.no_platform),
        }
        match day {
            PostDay::Day(day) => update(&mut c.days, day, bump),
            PostDay::Missing => bump(&mut c.no_time),
            PostDay::Unparsed(given) => {
                bump(&mut c.time_unparsed);
                if c.time_unparsed_example.is_none() {
                    c.time_unparsed_example = Some(given.to_owned());
                }
            }
        }
        if let Some(account) = account {
            self.accounts.count(account, flagged);
        }
    }

    /// The campaign of the flagged post on input line `line` whose n-gram sketch is
    /// `signature` (its workspace's [`crate::Workspace::signature`]): the id of the live
    /// near-duplicate campaign it joins, `line` for a new one, or `None` when the live
    /// campaigns are at their maximum and none can be forgotten (the post stays ungrouped).
    /// Call it in input order, then [`CountsBuilder::add_to_campaign`] with the id.
    ///
    /// ```
    /// let model = rumor_triage::Model::load_default().unwrap();
    /// let mut ws = rumor_triage::Workspace::default();
    /// let mut counts = rumor_triage::CountsBuilder::new(5);
    /// for (line, text) in [(1, "Share now: the dam has burst, evacuate!"), (2, "Share now: the dam has burst, evacuate!!!")] {
    ///     model.score_with(text, &mut ws, None).unwrap();
    ///     let campaign = counts.campaign_of(line, ws.signature()).unwrap();
    ///     counts.add_to_campaign(campaign, &line.to_string(), None, None);
    /// }
    /// assert_eq!(counts.finish().top_campaigns[0].posts, 2);
    /// ```
    pub fn campaign_of(&mut self, line: u64, signature: &Signature) -> Option<u64> {
        self.campaigns.campaign_of(line, signature)
    }

    /// Tallies a flagged post in campaign `campaign` (from [`CountsBuilder::campaign_of`],
    /// or the `campaign` field of a scored line) with its id, account and time (as given).
    /// Its account joins the campaign's distinct accounts if [`CountsBuilder::add`] counted
    /// it.
    ///
    /// ```
    /// let mut counts = rumor_triage::CountsBuilder::new(5);
    /// for (id, account) in [("a", "x"), ("b", "y"), ("c", "x")] {
    ///     counts.add("rumor", true, Some(account), None, None);
    ///     counts.add_to_campaign(4, id, Some(account), Some("2014-08-09T22:33:06Z"));
    /// }
    /// let c = counts.finish();
    /// assert_eq!((c.campaigns, c.campaign_posts, c.top_campaigns[0].accounts), (1, 3, 2));
    /// assert_eq!(c.top_campaigns[0].first_id, "a");
    /// ```
    pub fn add_to_campaign(
        &mut self,
        campaign: u64,
        id: &str,
        account: Option<&str>,
        time: Option<&str>,
    ) {
        let day = time.and_then(|t| self.times.parse(t)).map(|t| t.day());
        self.add_to_campaign_on(campaign, id, account, day.as_deref().unwrap_or(""));
    }

    /// [`CountsBuilder::add_to_campaign`] with the day worked out (`""` for none).
    pub(crate) fn add_to_campaign_on(
        &mut self,
        campaign: u64,
        id: &str,
        account: Option<&str>,
        day: &str,
    ) {
        let account = account
            .and_then(|a| self.accounts.index_of(a))
            .and_then(|i| u32::try_from(i).ok());
        self.grouped += 1;
        self.campaigns.add(campaign, id, account, day);
    }

    /// The live campaigns whose first post's sketch is unknown because they were rebuilt
    /// from scored output: a resumed run scores those posts again to restore them.
    pub(crate) fn unsketched_campaigns(&self) -> Vec<u64> {
        self.campaigns.unsketched().collect()
    }

    /// Restores the sketch of campaign `campaign`'s first post (see
    /// [`CountsBuilder::unsketched_campaigns`]).
    pub(crate) fn restore_campaign(&mut self, campaign: u64, signature: &Signature) {
        self.campaigns.restore_signature(campaign, signature);
    }

    /// The finished counts, with the top accounts sorted by flagged posts (ties by name).
    ///
    /// ```
    /// let c = rumor_triage::CountsBuilder::new(3).finish();
    /// assert!(c.top_accounts.is_empty());
    ///
    /// let mut b = rumor_triage::CountsBuilder::new(2);
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
        let (campaigns, campaign_posts, top_campaigns) = self.campaigns.finish(self.top);
        self.counts.campaigns = campaigns;
        self.counts.campaign_posts = campaign_posts;
        self.counts.top_campaigns = top_campaigns;
        self.counts.ungrouped_posts = self.counts.flagged.saturating_sub(self.grouped);
        self.counts.prevalence = self.prior.and_then(|(share, rates)| {
            Prevalence::estimate(&self.histogram, share, rates, prevalence::BOOTSTRAP_SEED)
        });
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
