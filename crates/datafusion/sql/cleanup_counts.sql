-- Cleanup counts of a table of posts in one pass, as `rumor-triage score --counts` counts
-- them: per label, per account (the top accounts), per platform, per day, near-duplicate
-- campaigns, and the histogram of probabilities the prevalence is estimated from.
--
-- Needs the functions `triage` and `post_day` (rumor_triage_datafusion::register).
-- `rumor-triage sql --counts` fills in the {{placeholders}}: the table, an expression per
-- field (NULL for a field the table lacks), the zone and format of times, how many accounts
-- and campaigns to list, and the histogram's bins. Each output row is one group; `kind` says which.
WITH scored AS (
    SELECT
        {{id}} AS id,
        {{account}} AS account,
        {{platform}} AS platform,
        {{time_text}} AS time_given,
        post_day({{time}}{{time_options}}) AS day,
        triage({{text}}) AS t
    FROM {{table}}
    WHERE {{text}} IS NOT NULL
),
posts AS (
    SELECT
        id,
        account,
        platform,
        time_given,
        day,
        CASE
            WHEN time_given IS NULL THEN 'missing'
            WHEN day IS NULL THEN 'unparsed'
            ELSE 'day'
        END AS time_state,
        t['label'] AS label,
        t['flagged'] AS flagged,
        t['insufficient_text'] AS insufficient_text,
        LEAST(CAST(t['probability'] * CAST({{bins}} AS REAL) AS INT), {{bins}} - 1) AS bin,
        CASE WHEN t['flagged'] THEN t['campaign_key'] END AS campaign
    FROM scored
    WHERE t IS NOT NULL
),
groups AS (
    SELECT
        CASE
            WHEN GROUPING(label) = 0 THEN 'label'
            WHEN GROUPING(account) = 0 THEN 'account'
            WHEN GROUPING(platform) = 0 THEN 'platform'
            WHEN GROUPING(time_state) = 0 THEN 'time'
            WHEN GROUPING(campaign) = 0 THEN 'campaign'
            WHEN GROUPING(bin) = 0 THEN 'bin'
            ELSE 'all'
        END AS kind,
        COALESCE(label, account, platform, day, CAST(campaign AS VARCHAR), CAST(bin AS VARCHAR)) AS key,
        time_state,
        COUNT(*) AS total,
        SUM(CASE WHEN flagged THEN 1 ELSE 0 END) AS flagged,
        SUM(CASE WHEN insufficient_text THEN 1 ELSE 0 END) AS insufficient_text,
        COUNT(DISTINCT account) AS accounts,
        MIN(day) AS first_day,
        MAX(day) AS last_day,
        MIN(id) AS first_id,
        MIN(CASE WHEN time_state = 'unparsed' THEN time_given END) AS unparsed_example
    FROM posts
    GROUP BY GROUPING SETS ((), (label), (account), (platform), (time_state, day), (campaign), (bin))
),
ranked AS (
    SELECT
        *,
        -- Accounts by flagged posts, ties by name; campaigns by posts, ties to the oldest.
        ROW_NUMBER() OVER (
            PARTITION BY kind
            ORDER BY
                key IS NULL,
                CASE WHEN kind = 'campaign' THEN total ELSE flagged END DESC,
                CASE WHEN kind = 'campaign' THEN first_day END,
                key
        ) AS rank,
        SUM(
            CASE
                WHEN key IS NULL THEN 0
                WHEN kind = 'account' AND flagged > 0 THEN 1
                WHEN kind = 'campaign' AND total >= 2 THEN 1
                ELSE 0
            END
        ) OVER (PARTITION BY kind) AS groups_counted,
        SUM(CASE WHEN kind = 'campaign' AND key IS NOT NULL AND total >= 2 THEN total ELSE 0 END)
            OVER (PARTITION BY kind) AS posts_counted
    FROM groups
)
SELECT
    kind, key, time_state, total, flagged, insufficient_text, accounts, first_day, last_day,
    first_id, unparsed_example, groups_counted, posts_counted
FROM ranked
WHERE kind NOT IN ('account', 'campaign') OR rank <= {{top}} OR rank = 1 OR key IS NULL
ORDER BY kind, rank
