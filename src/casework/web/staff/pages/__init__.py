"""The staff pages, one module each, found by `casework.web.staff.app.discover_pages`: each
module lists its routes in `PAGES` (`casework.web.staff.page.Page`)."""
