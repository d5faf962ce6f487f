"""Inbound mail (partners' replies, alerts): reading what comes in.

So far the parts that need no server: `classify.py` (a person's answer, an automatic reply or a
delivery report) and `quotes.py` (what the person wrote, without the quoted message). The
readers (IMAP, LMTP), the matching to sheets and the quarantine come with the reply-ingestion
issue.
"""
