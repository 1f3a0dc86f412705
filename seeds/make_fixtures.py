#!/usr/bin/env python3
"""Writes the sample dumps in seeds/ in the shapes platforms ship (texts written for this
project). The Parquet sample is written by `RUMOR_TRIAGE_BLESS=1 cargo test -p
rumor-triage-cli --test fixtures`. Expected counts, checked by hand: seeds/expected.json."""
import json
import pathlib
import subprocess

HERE = pathlib.Path(__file__).parent


def write(name, records):
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


write("twitter-v1.jsonl", [
    {"created_at": "Wed Oct 10 20:19:24 +0000 2018", "id": 1050118621198921728, "id_str": "1050118621198921728",
     "text": "BREAKING: unconfirmed reports the bridge on Route 9 has collapsed, share before it is del\u2026",
     "truncated": True,
     "extended_tweet": {"full_text": "BREAKING: unconfirmed reports the bridge on Route 9 has collapsed, share before it is deleted! Nobody official is confirming it."},
     "user": {"id": 11, "id_str": "11", "screen_name": "citywatch"}},
    {"created_at": "Thu Oct 10 23:59:59 +0000 2019", "id_str": "2",
     "full_text": "Is it true the water supply is poisoned?? hearing it everywhere, no official word",
     "user": {"id_str": "12", "screen_name": "anon_4471"}},
    {"delete": {"status": {"id": 3, "id_str": "3", "user_id": 11, "user_id_str": "11"}, "timestamp_ms": "1539202764000"}},
    {"created_at": "Fri Oct 11 00:00:01 +0000 2019", "id_str": "4", "text": "Lunch at the new place downtown was great",
     "user": {"id_str": "11", "screen_name": "citywatch"}},
    "",
    {"limit": {"track": 42, "timestamp_ms": "1570752001000"}},
    {"created_at": "Wed Oct 10 21:00:00 +0000 2018", "id_str": "7",
     "text": "RT @citywatch: BREAKING: unconfirmed reports the bridge on Route 9 has collapsed",
     "retweeted_status": {"id_str": "1050118621198921728", "text": "BREAKING: unconfirmed reports"},
     "user": {"id_str": "13", "screen_name": "relay_bot"}},
    {"created_at": "not a date", "id_str": "8", "text": "Police say the road will reopen at noon.",
     "user": {"id_str": "14", "screen_name": "metro_police"}},
    {"id_str": "9", "text": "No time on this one, from the police desk.", "user": {"id_str": "14", "screen_name": "metro_police"}},
    {"created_at": "Wed Oct 10 20:30:00 +0000 2018", "id_str": "10", "user": {"id_str": "15", "screen_name": "x"}},
])

write("twitter-v2.jsonl", [
    {"data": {"id": "1501", "text": "Unconfirmed: the airport is closed after an explosion, retweet!", "author_id": "2244994945",
              "created_at": "2022-03-09T18:02:18.000Z"},
     "includes": {"users": [{"id": "2244994945", "username": "airport_watch"}]}},
    {"data": {"id": "1502", "text": "The airport says all flights run on time today.", "author_id": "783214",
              "created_at": "2022-03-09T23:59:59.999Z"}},
    {"id": "1503", "text": "A bare tweet object, without the data wrapper.", "author_id": "783214",
     "created_at": "2022-03-10T00:00:00.000Z"},
    {"errors": [{"title": "operational-disconnect", "detail": "This stream has been disconnected."}]},
])

write("weibo.jsonl", [
    {"created_at": "Tue May 31 17:46:55 +0800 2011", "id": 3581830525474048, "idstr": "3581830525474048",
     "text": "网传明天本市将发生七级地震，请大家转发", "user": {"id": 1642909335, "idstr": "1642909335", "screen_name": "城市观察"}},
    {"created_at": "Wed Jun 01 07:30:00 +0800 2011", "mid": "3581830525474049", "text": "今天中午的午饭很好吃",
     "user": {"id": 1642909335}},
    {"created_at": "Wed Jun 01 08:00:00 +0800 2011", "idstr": "3581830525474050", "text": "短文本",
     "longText": {"longTextContent": "长微博全文：网传某地水源被污染，官方尚未回应，请转发扩散"}, "user": {"id": 2803301701}},
    {"created_at": "Tue May 31 12:00:00 +0800 2011", "idstr": "3581830525474051", "text": "辟谣：地震传言不实，请勿转发",
     "user": {"id": 2803301701}},
])

reddit = [
    {"id": "c1", "name": "t1_c1", "author": "throwaway1", "body": "Heard the governor is resigning tomorrow, anyone confirm?",
     "created_utc": 1420070399, "subreddit": "news"},
    {"id": "s2", "name": "t3_s2", "author": "newsbot", "title": "Official: the highway reopens Monday", "selftext": "",
     "created_utc": "1420070400", "subreddit": "news"},
    {"id": "c3", "name": "t1_c3", "author": "throwaway1", "body": "Source? That sounds made up.", "created_utc": 1420156800.0,
     "subreddit": "news"},
    {"id": "c4", "name": "t1_c4", "author": "[deleted]", "body": "Share this before it gets removed: the dam upstream is failing",
     "created_utc": 1420156799000, "subreddit": "news"},
]
text = "\n".join(json.dumps(r) for r in reddit) + "\n"
# Streamed through stdin, so the frame declares the full 2 GiB window, as Pushshift's do.
zst = subprocess.run(["zstd", "--long=31", "-19", "-q", "-c"], input=text.encode(), capture_output=True, check=True)
(HERE / "reddit.jsonl.zst").write_bytes(zst.stdout)
