"""The running service: what `casework serve` composes and runs, above the parts it composes.

`composition.py` builds the parts the settings ask for (the mail sender and the digest maker,
the LMTP and IMAP readers); `lifecycle.py` runs them (the sweep beat, the mail beat, the
heartbeat; start and stop); `web.py` is the ASGI application whose lifespan starts and stops
the service. The parts themselves know nothing of it: timers in `casework.timers`, mail out in
`casework.notify`, mail in in `casework.inbound`, pages in `casework.web`.
"""
