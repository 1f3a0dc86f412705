# %% [markdown]
# # Rumor detection on new events, from Python
#
# Train on PHEME, evaluate leave one event out (every event held out in turn: the model
# has never seen the story it is tested on), and draw a reliability diagram of the
# out-of-fold probabilities. Run it as a script or cell by cell in Jupyter or VS Code:
#
#     python leave_one_event_out.py [DATA_DIR] [OUT.png]
#
# DATA_DIR holds `pheme/train.jsonl` and `pheme/test.jsonl` (the project's evaluation data).

# %%
from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import rumor_triage as rt

data = Path(sys.argv[1] if len(sys.argv) > 1 else "../../../shared/data")
out = Path(sys.argv[2] if len(sys.argv) > 2 else "reliability.png")
records = [json.loads(line) for name in ("train", "test") for line in open(data / "pheme" / f"{name}.jsonl", encoding="utf-8")]
texts = [r["text"] for r in records]
labels = [r["label"] for r in records]
events = [r["event"] for r in records]
print(f"{len(texts)} posts, events: {sorted(set(events))}")

# %% [markdown]
# ## Leave one event out
# Each round trains on the other events (calibrated on folds that keep events whole) and
# tests on the held-out one.

# %%
report, predictions = rt.evaluate(texts, labels, protocol="group", groups=events)
print(f"pooled macro-F1 {report['macro_f1']:.4f}, mean over events {report['mean_macro_f1']:.4f}")
for round_ in report["groups"]:
    print(f"  {round_['name']:<24} {round_['test_items']:>5} posts  macro-F1 {round_['report']['macro_f1']:.4f}")

# %% [markdown]
# ## Reliability of the out-of-fold probabilities
# Every post's probability came from a model that never saw its event.

# %%
p = predictions.column("probability").to_numpy()
truth = np.array(predictions.column("label").to_pylist()) == "rumor"
bins = np.linspace(0, 1, 11)
which = np.clip(np.digitize(p, bins) - 1, 0, 9)
mean_p = np.array([p[which == b].mean() if (which == b).any() else np.nan for b in range(10)])
share = np.array([truth[which == b].mean() if (which == b).any() else np.nan for b in range(10)])
counts = np.bincount(which, minlength=10)

fig, ax = plt.subplots(figsize=(5, 5))
ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
ax.plot(mean_p, share, marker="o", label=f"leave one event out (ECE {report['pooled']['ece']:.3f})")
for x, y, n in zip(mean_p, share, counts):
    if n:
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
ax.set(xlabel="predicted probability of rumor", ylabel="share of rumors", xlim=(0, 1), ylim=(0, 1))
ax.set_title("PHEME, events never seen in training")
ax.legend(loc="upper left")
fig.tight_layout()
fig.savefig(out, dpi=120)
print(f"wrote {out}")
