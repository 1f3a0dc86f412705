"""Score a post dump with pandas and count what a cleanup would touch.

    python pandas_scoring.py DUMP.jsonl
"""

from __future__ import annotations

import sys

import pandas as pd

import rumor_triage as rt


def score_frame(posts: pd.DataFrame, model: rt.Model) -> pd.DataFrame:
    """``posts`` with the score columns beside its own."""
    scores = model.score(posts["text"], output="pandas")
    return pd.concat([posts.reset_index(drop=True), scores], axis=1)


if __name__ == "__main__":
    model = rt.Model.default()
    posts = pd.read_json(sys.argv[1], lines=True, dtype={"id": str})
    scored = score_frame(posts, model)
    print(scored.sort_values("probability", ascending=False).head(10)[["text", "probability", "flagged"]])
    counts = rt.cleanup_counts(scored, model=model)
    print(f"{counts['flagged']} of {counts['total']} posts flagged; estimated prevalence {counts['prevalence']['share']:.3f}")
