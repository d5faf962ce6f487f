"""The demo: French sample data (`data`), a cohort in the database (`cohort`), simulated people
acting through the engine (`people`), and the story `casework demo` tells (`story`)."""

from casework.demo.cohort import demo_cases, seed_cohort
from casework.demo.database import DemoDatabaseRefused, prepare_demo_database
from casework.demo.people import DemoPeople
from casework.demo.story import cohort_start, run_story

__all__ = [
    "DemoDatabaseRefused",
    "DemoPeople",
    "cohort_start",
    "demo_cases",
    "prepare_demo_database",
    "run_story",
    "seed_cohort",
]
