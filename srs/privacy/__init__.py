"""Privacy: people's rights over their data (UU 27/2022, Law 91/2025/QH15 with Decree 356/2025).

Rooms: ``models.py`` (the request ledger and the legal periods), ``legal.py`` (the periods per country,
as data, and the deadline arithmetic), ``requests.py`` (recording and closing requests), ``export.py``
(everything SRS holds on a person, with the processing trail), ``views.py`` (profile panel and pages),
``jobs.py`` (escalating overdue requests). Erasure, restriction, objection, retention, breaches and
records of processing live in their own modules beside these.
"""
