"""`python -m casework` is `casework`."""

from casework.cli import main

main(prog_name="casework")
