"""The demo: French sample data (`data`), a cohort in the database (`cohort`), simulated people
acting through the engine (`people`), and the story `casework demo` tells (`story`)."""

from casework.demo.cohort import seed_cohort, wipe_sqlite
from casework.demo.people import DemoPeople
from casework.demo.story import cohort_start, run_story

__all__ = ["DemoPeople", "cohort_start", "run_story", "seed_cohort", "wipe_sqlite"]
