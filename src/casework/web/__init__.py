"""The service's HTTP side (Starlette): the health endpoint now; signed links, the counsellor's
dashboard and the partner view next."""
