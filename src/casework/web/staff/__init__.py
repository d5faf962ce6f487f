"""The staff pages: counsellors, managers, evaluators and administrators, signed in.

`app.StaffPages` serves the login, logout and password-reset pages, and every page found in
`casework.web.staff.pages`: a page is one module there that lists its `PAGES` (`page.Page`:
path, French title, the roles that may open it, a handler), one template under
`templates/web/staff/`, and its tests. The core checks the session, the role, the CSRF value of
every POST and the size of its body, sets the headers and renders the layout with a nav that
shows only what the role may open; the handler checks the case's scope (`PageContext.case`) and
records what it showed (`PageContext.looked_at`).
"""
