//! Batch labeling: posts in, labeled posts out in input order (rayon), and the cleanup
//! counts of a labeled batch.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::score::Score;
use super::{Model, Workspace};
use crate::counts::{CleanupCounts, CountsBuilder};
use crate::error::Error;
use crate::features::Signature;
use crate::time::TimeParser;

/// A post to triage.
///
/// ```
/// let post: rumor_triage::Post = serde_json::from_str(r#"{"id":"1","text":"hi","platform":"weibo"}"#).unwrap();
/// assert_eq!(post.platform.as_deref(), Some("weibo"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// The post's id.
    pub id: String,
    /// Its text.
    pub text: String,
    /// The account that posted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The platform it was posted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// When it was posted (ISO-8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// A post with its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Labeled<P = Post> {
    /// The post.
    pub post: P,
    /// Its score.
    pub score: Score,
    /// The n-gram sketch of a flagged post, kept by [`Model::label_batch`] so that
    /// [`Model::cleanup_counts`] groups it into campaigns without scoring it again. Not
    /// serialized: a flagged post read back without one is scored again there.
    #[serde(skip)]
    pub sketch: Option<Box<Signature>>,
}

impl Model {
    /// Labels a batch of posts in parallel (rayon), keeping input order.
    ///
    /// ```
    /// use rumor_triage::{Model, Post};
    /// let model = Model::load_default().unwrap();
    /// let posts = vec![
    ///     Post { id: "1".into(), text: "Unconfirmed: shots fired downtown?".into(), ..Default::default() },
    ///     Post { id: "2".into(), text: "今天天气很好".into(), ..Default::default() },
    /// ];
    /// let labeled = model.label_batch(posts).unwrap();
    /// assert_eq!(labeled[1].post.id, "2");
    /// ```
    pub fn label_batch(&self, posts: Vec<Post>) -> Result<Vec<Labeled>, Error> {
        posts
            .into_par_iter()
            .map_init(Workspace::default, |ws, post| {
                let score = self.score_with(&post.text, ws, None)?;
                let sketch = score.flagged.then(|| Box::new(*ws.signature()));
                Ok(Labeled {
                    post,
                    score,
                    sketch,
                })
            })
            .collect()
    }

    /// Aggregates labeled posts into cleanup counts, keeping the `top` busiest accounts and
    /// largest near-duplicate campaigns. A post's campaign id is its 1-based position in
    /// `labeled`. A flagged post is grouped by the sketch [`Model::label_batch`] kept, or,
    /// when it has none (read back from storage), by scoring it again (in parallel).
    ///
    /// ```
    /// use rumor_triage::{Model, Post};
    /// let model = Model::load_default().unwrap();
    /// let text = "BREAKING: unconfirmed reports of a second gunman inside the mall, share!";
    /// let posts: Vec<Post> = (0..3)
    ///     .map(|i| Post { id: i.to_string(), text: format!("{text} {}", "!".repeat(i)), account: Some(format!("a{i}")), ..Default::default() })
    ///     .collect();
    /// let counts = model.cleanup_counts(&model.label_batch(posts).unwrap(), 10);
    /// assert_eq!(counts.total, 3);
    /// assert_eq!(counts.flagged, 3);
    /// assert_eq!((counts.campaigns, counts.top_campaigns[0].accounts), (1, 3));
    /// ```
    pub fn cleanup_counts(&self, labeled: &[Labeled], top: usize) -> CleanupCounts {
        self.cleanup_counts_with(labeled, top, TimeParser::default())
    }

    /// [`Model::cleanup_counts`] with the posts' times read by `times` (its zone decides
    /// the days).
    ///
    /// ```
    /// use rumor_triage::{Model, Post, TimeParser};
    /// let model = Model::load_default()?;
    /// let post = Post { id: "1".into(), text: "Unconfirmed: gunman still inside?".into(), time: Some("2014-12-15T20:00:00Z".into()), ..Default::default() };
    /// let labeled = model.label_batch(vec![post])?;
    /// let counts = model.cleanup_counts_with(&labeled, 5, TimeParser::default().zone("Australia/Sydney")?);
    /// assert!(counts.days.contains_key("2014-12-16"));
    /// # Ok::<(), rumor_triage::Error>(())
    /// ```
    pub fn cleanup_counts_with(
        &self,
        labeled: &[Labeled],
        top: usize,
        times: TimeParser,
    ) -> CleanupCounts {
        let signatures: Vec<Option<Signature>> = labeled
            .par_iter()
            .map_init(Workspace::default, |ws, l| {
                if !l.score.flagged {
                    return None;
                }
                if let Some(sketch) = &l.sketch {
                    return Some(**sketch);
                }
                self.score_with(&l.post.text, ws, None)
                    .ok()
                    .map(|_| *ws.signature())
            })
            .collect();
        let mut builder = CountsBuilder::new(top)
            .prevalence_of(self)
            .time_parser(times);
        for (line, (l, signature)) in (1u64..).zip(labeled.iter().zip(&signatures)) {
            let (account, time) = (l.post.account.as_deref(), l.post.time.as_deref());
            builder.add(
                &l.score.label,
                l.score.flagged,
                account,
                l.post.platform.as_deref(),
                time,
            );
            let score = &l.score;
            builder.add_probability(score.probability, score.flagged, score.insufficient_text);
            if let Some(campaign) = signature.and_then(|s| builder.campaign_of(line, &s)) {
                builder.add_to_campaign(campaign, &l.post.id, account, time);
            }
        }
        builder.finish()
    }
}
