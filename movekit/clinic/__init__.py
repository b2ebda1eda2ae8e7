"""The clinic's bookkeeping: clients, visits, goals, pain maps, treatment logs, outcomes and home programs.

Modules
-------
store
    The SQLite clinic database (:class:`~movekit.clinic.store.Store`): clients, sessions (clinic
    visits), assessment results, questionnaire scores, goals, pain maps, treatment logs, home-program
    logs; migrations with backups.
outcomes
    Outcome questionnaires (NPRS, ODI, DASH, QuickDASH, PSFS): scoring and MCIDs with sources.
goals
    Measurable goals and their progress from stored results.
painmap
    Body-chart regions and per-session pain maps.
treatment
    The structured manual-therapy and movement log of a session.
program
    Home programs: assigned drills and their logs.
reassess
    When a client's re-assessment is due (every 4-6 sessions).
audit
    The clinic's de-identified audit of change across clients.

Nothing here measures movement: that is :mod:`movekit.analysis` and :mod:`movekit.assess`; the
report (:mod:`movekit.report`) and the studio present what is stored here.
"""
