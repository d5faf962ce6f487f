"""Pages (Starlette routes): the pages behind the links in mails and their bounded, CSRF-checked
forms. The service mounts them beside /health (`casework.service.web`)."""
