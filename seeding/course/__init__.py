"""The course's compatibility layer: ``SeedsScenario``, the builder factories, seeding in a child process."""
