"""Referrals: state machine, outbox, delivery channels, agency inbox, deadlines."""
