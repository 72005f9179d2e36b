"""seeding: test data for load tests of the bank gateway."""
