"""Staff accounts for the web pages: passwords, sessions, failed logins, password resets, who
may see which case, and the access log. Nothing here knows HTTP (`casework.web.staff` does)."""
