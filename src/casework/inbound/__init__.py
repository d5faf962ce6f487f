"""Inbound mail (partners' replies, alerts): taking in what comes.

    classify.py   a person's answer, an automatic reply, or a delivery report
    quotes.py     what the person wrote, without the quoted message and the signature
    ingest.py     one message, one transaction: stored raw, matched to our mail by its signed
                  reply address or Message-ID, checked against the partner's contacts, then
                  recorded on the sheet, ignored or quarantined

The readers that feed `ingest` (IMAP with IDLE, an LMTP receiver), the quarantine review and the
alert address come with the rest of the reply-ingestion issue.
"""
