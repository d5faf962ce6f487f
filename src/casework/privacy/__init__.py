"""Personal data over its whole life: how long each kind is kept and the purge that ends it
(`retention`, `purge`), each person's rights (`rights`: export, rectification, erasure),
consent withdrawn, the access log's reads, logs without personal data (`logs`) and the record
of processing (`register`). The commands are `casework privacy …` (`casework.cli.privacy`)."""
