"""Mail, in the order a mail lives:

templates.py   how mail templates are named and loaded
outbox.py      queued in the transition's transaction; claimed, marked
render.py      rendered once: context, addresses, links, the stored message (mime.py)
sender.py      sent over reused SMTP connections: retries, failures, notices
links.py       signed action links (and reply tokens); the pages are casework.web.links
digest.py      the counsellors' daily digest
"""
