"""Plans: what to seed (users, accounts, cards, operations), validated from YAML or JSON, and each user's fake data."""
