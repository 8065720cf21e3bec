"""Users, roles, login, sessions, API tokens and user administration."""
